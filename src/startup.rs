//! Building the application (connect, migrate, bind) and running it until shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use tokio::net::TcpListener;

use crate::{
    auth::{jwt::JwtKeys, password::PasswordHasherConfig, sealed::Sealer},
    billing,
    clock::Clock,
    config::{Config, Secret},
    db::Db,
    engine::Engine,
    graphql::{self, AppSchema},
    http,
    llm::{builtin::BuiltinModel, openai::OpenAiModel, LanguageModel},
    outbox,
    ratelimit::RateLimiter,
    realtime::Realtime,
    state::{AppState, SharedState},
};

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// A built application, bound to its port and ready to serve.
pub struct App {
    pub state: SharedState,
    pub schema: AppSchema,
    listener: TcpListener,
    /// The separate `/metrics` address, when configured.
    metrics_listener: Option<TcpListener>,
    persisted: http::persisted::PersistedDocuments,
    mailer: outbox::Mailer,
    model: Arc<dyn LanguageModel>,
}

impl App {
    /// Checks the configuration, connects and migrates the database, and binds
    /// the listener (port 0 picks a free port; see [`App::local_addr`]).
    #[tracing::instrument(skip_all, fields(bind = %config.bind))]
    pub async fn build(config: Config, clock: Clock) -> Result<App, StartupError> {
        let model: Arc<dyn LanguageModel> = match config.llm.provider.as_str() {
            "openai" => Arc::new(OpenAiModel::new(&config.llm)?),
            _ => {
                let delay = std::time::Duration::from_millis(config.engine.builtin_token_delay_ms);
                Arc::new(BuiltinModel::new(delay))
            }
        };
        App::build_with_model(config, clock, model).await
    }

    /// Like [`App::build`], with another language model (a real one, or a test double).
    pub async fn build_with_model(
        config: Config,
        clock: Clock,
        model: Arc<dyn LanguageModel>,
    ) -> Result<App, StartupError> {
        config.validate()?;
        if config.jwt_secret.is_none() {
            tracing::warn!(
                "JWT_SECRET is not set: using the built-in DEVELOPMENT secret. \
                 Anyone can forge tokens for this server. Set JWT_SECRET before exposing it."
            );
        }
        if config.secret_key.is_none() {
            tracing::warn!(
                "ATELYA_SECRET_KEY is not set: secrets at rest are sealed with the built-in \
                 DEVELOPMENT key, which protects nothing. Set it before exposing this server."
            );
        }
        let jwt = JwtKeys::new(&config.effective_jwt_secret()?, config.access_token_ttl());
        let db = Db::connect(config.database_url.expose()).await?;
        db.migrate().await?;
        let realtime = Realtime::start(
            config.redis_url.as_ref().map(Secret::expose),
            &config.redis_prefix,
            &db,
            clock.clone(),
        )
        .await?;
        let db = db
            .publishing_to(realtime.bus.clone())
            .caching_sessions_for(Duration::from_millis(config.session_cache_ms));
        let persisted =
            http::persisted::PersistedDocuments::configured(&config, realtime.redis.clone())?;
        let budget = crate::budget::CostBudget::new(
            config.limits.cost_budget_per_hour,
            clock.clone(),
            realtime.redis.clone(),
            &config.redis_prefix,
        );
        let limiter = match &realtime.redis {
            Some(connection) => {
                RateLimiter::redis(clock.clone(), connection.clone(), &config.redis_prefix)
            }
            None => RateLimiter::in_memory(clock.clone()),
        };
        let passwords = PasswordHasherConfig {
            memory_kib: config.argon2_memory_kib,
        };
        passwords.prepare().await?;
        let mailer = outbox::Mailer::from_config(
            config.smtp_url.as_ref().map(|s| s.0.as_str()),
            &config.mail_from,
        )?;
        let listener = TcpListener::bind(config.bind).await?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        crate::telemetry::handle();
        let state = Arc::new(AppState {
            db,
            passwords,
            sealer: Sealer::versioned(
                config.secret_key.as_ref().map(Secret::expose),
                config.secret_key_version,
                config.secret_key_previous.as_ref().map(Secret::expose),
            )?,
            limiter,
            budget,
            renders: crate::export::Renders::new(config.export_renders),
            documents: crate::graphql::documents::DocumentCache::with_budget(
                config.limits.document_cache_bytes,
            ),
            work: Default::default(),
            rounds: Default::default(),
            interrupted: Default::default(),
            realtime,
            live: crate::http::caps::LiveCaps::new(&config.sockets),
            mcp: Default::default(),
            jwt,
            clock,
            config,
        });
        let schema = graphql::schema_builder(&state.config.limits, state.config.is_production())
            .data(state.clone())
            .finish();
        Ok(App {
            state,
            schema,
            listener,
            metrics_listener,
            persisted,
            mailer,
            model,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address serving `/metrics` alone, when `ATELYA_METRICS_BIND` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully: stops
    /// accepting, lets requests in flight finish, closes websockets with
    /// 1001, stops this instance's runs and releases their leases (so another
    /// instance takes them over at once), and sends what the bus still holds.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let dispatcher = outbox::spawn_dispatcher(state.clone(), self.mailer);
        let webhooks = crate::webhook::dispatch::spawn_dispatcher(state.clone());
        let renewals = billing::period::spawn_renewals(state.clone());
        let rereads = crate::tool::servers::spawn_rereads(state.clone());
        let resealing = {
            let state = state.clone();
            tokio::spawn(async move {
                match crate::auth::reseal::reseal_stale(&state).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(values = n, "sealed again with the current key"),
                    Err(err) => {
                        tracing::warn!(error = %err, "sealing again with the current key failed")
                    }
                }
            })
        };
        let background = state
            .realtime
            .spawn(state.work.clone(), state.db.sessions().clone())
            .await;
        let engine = Engine::new(state.clone(), self.model);
        let claiming = engine.clone().spawn();
        let metrics = self.metrics_listener.map(|listener| {
            let router = http::metrics_router(state.clone());
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    tracing::error!(error = %err, "the metrics listener stopped");
                }
            })
        });
        let router = http::router(state.clone(), self.schema, self.persisted);
        tracing::info!(
            addr = %self.listener.local_addr()?,
            export_renders = state.renders.at_once(),
            "atelya is serving"
        );
        let sockets = state.realtime.sockets.clone();
        let bounds = http::serve::bounds_of(&state.config);
        let served = http::serve::serve(self.listener, router, bounds, async move {
            shutdown.await;
            tracing::info!("shutting down");
            // Upgraded sockets are not the HTTP server's to wait for: close them now.
            sockets.shut_down();
        })
        .await;
        state.realtime.sockets.closed(SOCKETS_CLOSE_WITHIN).await;
        claiming.abort();
        let _ = claiming.await;
        engine.stop().await;
        state.realtime.presence.flush(BUS_FLUSH_WITHIN).await;
        state.realtime.bus.flush(BUS_FLUSH_WITHIN).await;
        // The background jobs stop at their next await; returning only once
        // they have means nothing of this instance runs after it.
        let jobs = [dispatcher, renewals, webhooks, resealing]
            .into_iter()
            .chain(rereads)
            .chain(metrics)
            .chain(background);
        for job in jobs {
            job.abort();
            let _ = job.await;
        }
        served
    }
}

/// How long shutdown waits for websockets to close.
const SOCKETS_CLOSE_WITHIN: Duration = Duration::from_secs(2);
/// How long shutdown waits for queued publications to reach the bus.
const BUS_FLUSH_WITHIN: Duration = Duration::from_secs(2);
