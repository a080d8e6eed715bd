//! Requests the server makes to URLs that users give (webhook endpoints,
//! and any later feature that fetches on a user's behalf): the one place
//! that decides where such a request may go.
//!
//! - [`check`]: an http(s) URL without credentials whose host resolves
//!   (within [`DNS_TIMEOUT`]) only to globally reachable addresses
//!   ([`address::is_global`]), unless private ones are allowed.
//! - [`Target::client`]: a client that connects to exactly the addresses
//!   that passed, so a name that resolves elsewhere a moment later (DNS
//!   rebinding) gets nowhere; built on [`builder`], which ignores the
//!   `HTTP_PROXY`-style variables (a proxy would resolve the name itself,
//!   past the check) and follows no redirect (a redirect could lead anywhere).
//! - [`origin`]: the scheme and host of a URL, all of it that may be shown
//!   or logged, since a URL's path or query is often its credential (Slack
//!   and Zapier hook URLs).

pub mod address;

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use reqwest::{Client, ClientBuilder, Url};

use crate::error::{AppError, AppResult};

/// How long resolving a host name may take.
pub const DNS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A checked URL, and the addresses its host name resolved to when they
/// were checked (none for an IP literal, or when private ones are allowed).
pub struct Target {
    url: Url,
    pinned: Option<(String, Vec<SocketAddr>)>,
}

impl Target {
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A client from `builder` (start from [`builder`]) that connects only
    /// to the addresses that were checked.
    pub fn client(&self, builder: ClientBuilder) -> AppResult<Client> {
        let builder = match &self.pinned {
            Some((host, addresses)) => builder.resolve_to_addrs(host, addresses),
            None => builder,
        };
        builder
            .build()
            .map_err(|e| AppError::Internal(format!("no HTTP client: {}", e.without_url())))
    }
}

/// Where every client for a user's URL starts: no proxy from the
/// environment, no redirects, a connect timeout.
pub fn builder() -> ClientBuilder {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
}

/// Checks `raw` for a request: http or https, no credentials, and (unless
/// `allow_private`) a host that resolves only to globally reachable
/// addresses. BAD_USER_INPUT otherwise, without echoing the URL.
pub async fn check(raw: &str, allow_private: bool) -> AppResult<Target> {
    let url = Url::parse(raw).map_err(|_| refused("is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused("must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("must not hold credentials"));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let (addresses, pinned_host) = match url.host() {
        None => return Err(refused("has no host")),
        Some(_) if allow_private => return Ok(Target { url, pinned: None }),
        Some(url::Host::Ipv4(ip)) => (vec![SocketAddr::new(IpAddr::V4(ip), port)], None),
        Some(url::Host::Ipv6(ip)) => (vec![SocketAddr::new(IpAddr::V6(ip), port)], None),
        Some(url::Host::Domain(name)) => {
            let found = within(DNS_TIMEOUT, tokio::net::lookup_host((name, port))).await?;
            (found.collect::<Vec<_>>(), Some(name.to_owned()))
        }
    };
    if addresses.is_empty() || !addresses.iter().all(|a| address::is_global(a.ip())) {
        return Err(refused(
            "must reach a public address (loopback, private, link-local and other internal addresses are refused)",
        ));
    }
    Ok(Target {
        pinned: pinned_host.map(|host| (host, addresses)),
        url,
    })
}

/// A host name's addresses, or BAD_USER_INPUT when it does not resolve in time.
async fn within<T>(
    limit: Duration,
    lookup: impl Future<Output = std::io::Result<T>>,
) -> AppResult<T> {
    match tokio::time::timeout(limit, lookup).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(_)) => Err(refused("has a host that does not resolve")),
        Err(_) => Err(refused(&format!(
            "has a host that did not resolve within {} s",
            limit.as_secs()
        ))),
    }
}

fn refused(why: &str) -> AppError {
    AppError::bad_input(format!("url {why}"))
}

/// The scheme and host of a URL (no user, port, path, query or fragment):
/// what may be shown to others or logged. Displays as `scheme://host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)
    }
}

/// The [`Origin`] of `raw`; an unparsable URL shows as `invalid://invalid`.
pub fn origin(raw: &str) -> Origin {
    let url = Url::parse(raw).ok();
    let part = |p: Option<&str>| p.unwrap_or("invalid").to_owned();
    Origin {
        scheme: part(url.as_ref().map(Url::scheme)),
        host: part(url.as_ref().and_then(Url::host_str)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_http_urls_without_credentials_to_public_addresses_pass() {
        for refused in [
            "ftp://example.com/hook",
            "http://user:pass@example.com/hook",
            "not a url",
            "http://127.0.0.1/hook",
            "http://2130706433/hook",
            "http://localhost:8080/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:127.0.0.1]/hook",
            "http://[64:ff9b::a9fe:a9fe]/latest",
            "http://[2002:a00:1::]/hook",
            "http://[fec0::1]/hook",
            "http://192.0.0.1/hook",
            "http://240.0.0.1/hook",
        ] {
            assert!(check(refused, false).await.is_err(), "{refused}");
        }
        for accepted in [
            "https://93.184.216.34/hook",
            "http://[2606:4700::1111]:8443/x",
        ] {
            let target = check(accepted, false).await.unwrap();
            assert!(
                target.pinned.is_none(),
                "an address literal is what is connected to"
            );
        }
        assert!(check("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check("ftp://127.0.0.1/hook", true).await.is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_an_internal_address_is_refused_without_echoing_it() {
        let error = check("http://localhost:9/x", false).await.err().unwrap();
        assert!(error.to_string().contains("public address"), "{error}");
        assert!(!error.to_string().contains("localhost"), "{error}");
        // With private addresses allowed nothing is resolved here, so nothing is pinned.
        assert!(check("http://localhost:9/x", true)
            .await
            .unwrap()
            .pinned
            .is_none());
    }

    #[tokio::test]
    async fn a_client_connects_to_the_pinned_addresses_only() {
        let (addr, hits) = counting_server().await;
        // `.invalid` never resolves: the request can only get there through the pin.
        let target = Target {
            url: format!("http://pinned.invalid:{}/x", addr.port())
                .parse()
                .unwrap(),
            pinned: Some(("pinned.invalid".into(), vec![addr])),
        };
        let client = target.client(builder()).unwrap();
        let answer = client.get(target.url().clone()).send().await.unwrap();
        assert!(answer.status().is_success());
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_in_time_is_refused() {
        let never = std::future::pending::<std::io::Result<Vec<SocketAddr>>>();
        let started = std::time::Instant::now();
        let error = within(Duration::from_millis(50), never)
            .await
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("did not resolve within"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// Proxy variables are read from the process's environment, so the
    /// check runs in a process of its own.
    #[test]
    fn a_proxy_in_the_environment_is_never_used() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "outbound::tests::requests_ignore_a_proxy_in_the_environment",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Counts the requests it answers.
    async fn counting_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::{atomic::Ordering, Arc};
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().fallback(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { "ok" }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (addr, hits)
    }

    #[tokio::test]
    #[ignore = "sets proxy variables for the whole process: run alone by a_proxy_in_the_environment_is_never_used"]
    async fn requests_ignore_a_proxy_in_the_environment() {
        use std::sync::atomic::Ordering;
        let (proxy, through_proxy) = counting_server().await;
        let (target, direct) = counting_server().await;
        for variable in ["HTTP_PROXY", "http_proxy", "ALL_PROXY"] {
            std::env::set_var(variable, format!("http://{proxy}"));
        }
        let url = format!("http://{target}/hook");
        let counts = || {
            (
                through_proxy.load(Ordering::SeqCst),
                direct.load(Ordering::SeqCst),
            )
        };
        // A client left to its defaults goes through the proxy: the variables are in force.
        Client::new().get(&url).send().await.unwrap();
        assert_eq!(counts(), (1, 0));
        builder().build().unwrap().get(&url).send().await.unwrap();
        assert_eq!(
            counts(),
            (1, 1),
            "an outbound client goes straight to the target"
        );
    }

    #[test]
    fn the_origin_keeps_only_scheme_and_host() {
        let slack = origin("https://user:pw@hooks.slack.com:8443/services/T0/B0/XXXX?token=1#f");
        assert_eq!(
            (slack.scheme.as_str(), slack.host.as_str()),
            ("https", "hooks.slack.com")
        );
        assert_eq!(slack.to_string(), "https://hooks.slack.com");
        assert_eq!(origin("http://[::1]:9/x").to_string(), "http://[::1]");
        assert_eq!(origin("nonsense").to_string(), "invalid://invalid");
    }
}
