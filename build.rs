//! Marks which test services are configured at build time, so that tests
//! needing PostgreSQL or Redis are reported as ignored (with the reason)
//! rather than as passed when their service is not set.

fn main() {
    for (var, cfg) in [
        ("TEST_DATABASE_URL", "postgres_tests"),
        ("TEST_REDIS_URL", "redis_tests"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if std::env::var(var).is_ok_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
