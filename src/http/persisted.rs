//! Persisted queries: a client sends the SHA-256 of a document instead of
//! the document (the Automatic Persisted Queries protocol,
//! `extensions.persistedQuery { version: 1, sha256Hash }`), over POST, GET
//! (so a CDN can cache a query by its URL) and websockets.
//!
//! - A hash the server does not know is `PersistedQueryNotFound`; the client
//!   sends it again with the document, which registers it, but only once the
//!   document was admitted (parsed, within every limit, valid: see
//!   [`crate::graphql::admission`]), and only up to
//!   `ATELYA_PERSISTED_MAX_BYTES`: a document that cannot run, or a huge one,
//!   is never kept.
//! - Registered documents are kept in Redis when it is configured (every
//!   instance knows every document), within `ATELYA_PERSISTED_REDIS_BYTES`
//!   (the longest unregistered go first), with an in-memory cache in front
//!   within `ATELYA_PERSISTED_CACHE_BYTES`; in memory alone otherwise.
//! - Trusted documents (`ATELYA_PERSISTED_ONLY=true`): only the documents of
//!   a manifest shipped with a frontend build (`ATELYA_PERSISTED_DOCUMENTS`)
//!   run, by hash or in full; nothing registers.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use redis::aio::ConnectionManager;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::graphql::context::{PersistedStore, Registration};

/// Why a request's document could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An unknown hash: send the document with it.
    NotFound,
    /// Trusted-documents mode, and this document is not in the manifest.
    NotInSafelist,
    /// The extension is malformed, or the hash is not the document's.
    Invalid(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            Refusal::NotInSafelist => "QUERY_NOT_IN_SAFELIST",
            Refusal::Invalid(_) => "BAD_USER_INPUT",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::NotFound => "PersistedQueryNotFound".into(),
            Refusal::NotInSafelist => {
                "this server runs only the documents registered with it".into()
            }
            Refusal::Invalid(why) => why.clone(),
        }
    }
}

/// How much the registered documents may take.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The longest document registered, in bytes (a longer one still runs
    /// when sent in full).
    pub max_document_bytes: usize,
    /// Bytes of documents kept in each instance's memory.
    pub cache_bytes: usize,
    /// Bytes of documents kept in Redis, for every instance together.
    pub redis_bytes: usize,
}

/// The documents this instance knows by hash.
pub struct PersistedDocuments {
    bounds: Bounds,
    cache: Mutex<Cache>,
    redis: Option<(ConnectionManager, String)>,
    /// The manifest's documents, when only they may run.
    trusted: Option<HashMap<String, Arc<str>>>,
}

impl PersistedDocuments {
    /// Registered documents, in Redis when there is one; with `trusted`,
    /// only those documents run and nothing registers.
    pub fn new(
        redis: Option<ConnectionManager>,
        prefix: &str,
        trusted: Option<HashMap<String, Arc<str>>>,
        bounds: Bounds,
    ) -> PersistedDocuments {
        PersistedDocuments {
            bounds,
            cache: Mutex::new(Cache::default()),
            redis: redis.map(|r| (r, format!("{prefix}:apq:"))),
            trusted,
        }
    }

    /// As the configuration says: the manifest of `ATELYA_PERSISTED_DOCUMENTS`
    /// when `ATELYA_PERSISTED_ONLY` is set (an error when it cannot be read).
    pub fn configured(
        config: &crate::config::Config,
        redis: Option<ConnectionManager>,
    ) -> Result<PersistedDocuments, String> {
        let trusted = match (config.persisted_only, &config.persisted_documents) {
            (false, _) => None,
            (true, None) => {
                return Err("ATELYA_PERSISTED_ONLY needs ATELYA_PERSISTED_DOCUMENTS, the manifest of the documents to run".into())
            }
            (true, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                Some(read_manifest(&text).map_err(|e| format!("{}: {e}", path.display()))?)
            }
        };
        let bounds = Bounds {
            max_document_bytes: config.persisted_max_bytes,
            cache_bytes: config.persisted_cache_bytes,
            redis_bytes: config.persisted_redis_bytes,
        };
        Ok(PersistedDocuments::new(
            redis,
            &config.redis_prefix,
            trusted,
            bounds,
        ))
    }

    /// Puts the document a GraphQL request body (`map`) runs under `query`:
    /// its own, checked against its hash when it comes with one (then it
    /// is to be registered once admitted: the [`Registration`] returned), or
    /// the one its hash names.
    pub async fn resolve(
        self: &Arc<Self>,
        map: &mut Map<String, Value>,
    ) -> Result<Option<Registration>, Refusal> {
        let persisted = match map.get("extensions") {
            Some(Value::Object(extensions)) => extensions.get("persistedQuery").cloned(),
            _ => None,
        };
        let query = match map.get("query") {
            Some(Value::String(query)) => Some(query.as_str()),
            _ => None,
        };
        let Some(persisted) = persisted else {
            // A document sent in full: in trusted mode it must be a known one.
            if let (Some(trusted), Some(query)) = (&self.trusted, query) {
                if !trusted.contains_key(&sha256(query)) {
                    return Err(Refusal::NotInSafelist);
                }
            }
            return Ok(None);
        };
        let hash = hash_of(&persisted)?;
        match query {
            Some(query) => {
                if sha256(query) != hash {
                    return Err(Refusal::Invalid("provided sha does not match query".into()));
                }
                match &self.trusted {
                    Some(trusted) if !trusted.contains_key(&hash) => Err(Refusal::NotInSafelist),
                    Some(_) => Ok(None),
                    None => Ok(Some(Registration {
                        hash,
                        store: self.clone(),
                    })),
                }
            }
            None => {
                let document = self.find(&hash).await.ok_or(Refusal::NotFound)?;
                map.insert("query".into(), Value::String(document.to_string()));
                Ok(None)
            }
        }
    }

    /// The same for a GET's query string.
    pub async fn resolve_params(
        self: &Arc<Self>,
        params: &mut Vec<(String, String)>,
    ) -> Result<Option<Registration>, Refusal> {
        let mut map = Map::new();
        for (key, value) in params.iter() {
            match key.as_str() {
                "query" => {
                    map.insert("query".into(), Value::String(value.clone()));
                }
                "extensions" => {
                    if let Ok(extensions @ Value::Object(_)) = serde_json::from_str(value) {
                        map.insert("extensions".into(), extensions);
                    }
                }
                _ => {}
            }
        }
        let had_query = map.contains_key("query");
        let registration = self.resolve(&mut map).await?;
        if let (false, Some(Value::String(document))) = (had_query, map.remove("query")) {
            params.push(("query".into(), document));
        }
        Ok(registration)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(trusted) = &self.trusted {
            return trusted.get(hash).cloned();
        }
        if let Some(found) = self.cache.lock().expect("document cache").get(hash) {
            return Some(found);
        }
        let (redis, prefix) = self.redis.as_ref()?;
        let stored: redis::RedisResult<Option<String>> = redis::cmd("GET")
            .arg(format!("{prefix}{hash}"))
            .query_async(&mut redis.clone())
            .await;
        match stored {
            Ok(Some(document)) if sha256(&document) == hash => {
                let document: Arc<str> = document.into();
                self.cache.lock().expect("document cache").insert(
                    hash.to_owned(),
                    document.clone(),
                    self.bounds.cache_bytes,
                );
                Some(document)
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(error = %err, "reading a persisted query from Redis failed");
                None
            }
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl PersistedStore for PersistedDocuments {
    /// Keeps an admitted document under its hash, if it is not too long.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn register(&self, hash: &str, document: &str) {
        if self.trusted.is_some() || document.len() > self.bounds.max_document_bytes {
            return;
        }
        let document: Arc<str> = document.into();
        self.cache.lock().expect("document cache").insert(
            hash.to_owned(),
            document.clone(),
            self.bounds.cache_bytes,
        );
        if let Some((redis, prefix)) = &self.redis {
            let stored: redis::RedisResult<i64> = redis::Script::new(STORE_WITHIN_BUDGET)
                .key(format!("{prefix}index"))
                .key(format!("{prefix}bytes"))
                .arg(prefix)
                .arg(hash)
                .arg(&*document)
                .arg(chrono::Utc::now().timestamp_millis())
                .arg(self.bounds.redis_bytes)
                .invoke_async(&mut redis.clone())
                .await;
            if let Err(err) = stored {
                // This instance still knows it; the others ask for it again.
                tracing::warn!(error = %err, "storing a persisted query in Redis failed");
            }
        }
    }
}

/// Stores a document (`ARGV[3]`) under the prefix (`ARGV[1]`) and its hash
/// (`ARGV[2]`), notes it in the index (`KEYS[1]`, by registration time
/// `ARGV[4]`) and the byte count (`KEYS[2]`), then drops the documents
/// registered longest ago until the count is within the budget (`ARGV[5]`).
/// One script, so instances registering at once cannot overshoot it.
const STORE_WITHIN_BUDGET: &str = r#"
local key = ARGV[1] .. ARGV[2]
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
if redis.call('EXISTS', key) == 0 then
  redis.call('SET', key, ARGV[3])
  total = total + string.len(ARGV[3])
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
local budget = tonumber(ARGV[5])
while total > budget do
  local oldest = redis.call('ZPOPMIN', KEYS[1])
  if #oldest == 0 then break end
  local dropped = ARGV[1] .. oldest[1]
  total = total - redis.call('STRLEN', dropped)
  redis.call('DEL', dropped)
end
if total < 0 then total = 0 end
redis.call('SET', KEYS[2], total)
return total
"#;

/// The lower-case hex SHA-256 of a document, as clients compute it.
pub fn sha256(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

fn hash_of(persisted: &Value) -> Result<String, Refusal> {
    let invalid = |why: &str| Refusal::Invalid(format!("extensions.persistedQuery: {why}"));
    let Value::Object(fields) = persisted else {
        return Err(invalid("must be an object"));
    };
    if fields.get("version") != Some(&Value::from(1)) {
        return Err(invalid("version must be 1"));
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(invalid("sha256Hash must be 64 hexadecimal digits")),
    }
}

/// Documents by hash within a budget of bytes, the oldest dropped first.
#[derive(Default)]
struct Cache {
    documents: HashMap<String, Arc<str>>,
    order: VecDeque<String>,
    bytes: usize,
}

/// What an entry is reckoned to take besides its document: the hash twice
/// (map key and queue), and the map's and the `Arc`'s bookkeeping.
const ENTRY_OVERHEAD: usize = 2 * 64 + 96;

impl Cache {
    fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.documents.get(hash).cloned()
    }

    fn insert(&mut self, hash: String, document: Arc<str>, budget: usize) {
        let bytes = document.len() + ENTRY_OVERHEAD;
        if bytes > budget || self.documents.contains_key(&hash) {
            return;
        }
        self.documents.insert(hash.clone(), document);
        self.order.push_back(hash);
        self.bytes += bytes;
        while self.bytes > budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(dropped) = self.documents.remove(&oldest) {
                self.bytes -= dropped.len() + ENTRY_OVERHEAD;
            }
        }
    }
}

/// Reads a manifest of trusted documents: Apollo's persisted query manifest
/// (`{"format": "apollo-persisted-query-manifest", "version": 1,
/// "operations": [{"id": "<sha256>", "body": "<document>", …}]}`) or a plain
/// object of hash to document (`{"<sha256>": "<document>"}`). Every hash must
/// be its document's SHA-256.
pub fn read_manifest(text: &str) -> Result<HashMap<String, Arc<str>>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the manifest is not JSON: {e}"))?;
    let entries: Vec<(String, String)> = match &value {
        Value::Object(map) if map.contains_key("operations") => map["operations"]
            .as_array()
            .ok_or("operations must be an array")?
            .iter()
            .map(|op| match (op["id"].as_str(), op["body"].as_str()) {
                (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                _ => Err("every operation needs an id and a body".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Value::Object(map) => map
            .iter()
            .map(|(hash, doc)| match doc.as_str() {
                Some(doc) => Ok((hash.clone(), doc.to_owned())),
                None => Err(format!("the document of {hash} must be a string")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("the manifest must be a JSON object".into()),
    };
    let mut documents = HashMap::new();
    for (hash, document) in entries {
        if sha256(&document) != hash.to_ascii_lowercase() {
            return Err(format!("{hash} is not the SHA-256 of its document"));
        }
        documents.insert(hash.to_ascii_lowercase(), document.into());
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = "{ viewer { user { id } } }";
    const BOUNDS: Bounds = Bounds {
        max_document_bytes: 1024,
        cache_bytes: 64 * 1024,
        redis_bytes: 64 * 1024,
    };

    fn body(query: Option<&str>, hash: &str) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(query) = query {
            map.insert("query".into(), json!(query));
        }
        map.insert(
            "extensions".into(),
            json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }),
        );
        map
    }

    #[tokio::test]
    async fn a_hash_is_known_only_once_its_document_was_registered() {
        let docs = Arc::new(PersistedDocuments::new(None, "t", None, BOUNDS));
        let hash = sha256(DOC);
        assert_eq!(
            docs.resolve(&mut body(None, &hash)).await.err(),
            Some(Refusal::NotFound)
        );
        let registration = docs.resolve(&mut body(Some(DOC), &hash)).await.unwrap();
        assert_eq!(
            docs.resolve(&mut body(None, &hash)).await.err(),
            Some(Refusal::NotFound),
            "sending it registers nothing until it was admitted"
        );
        registration.expect("a registration").register(DOC).await;
        let mut by_hash = body(None, &hash);
        docs.resolve(&mut by_hash).await.unwrap();
        assert_eq!(by_hash["query"], DOC);
        let wrong = docs.resolve(&mut body(Some("{ x }"), &hash)).await;
        assert!(matches!(wrong, Err(Refusal::Invalid(_))));
        let mut bad = body(None, "abc");
        assert!(matches!(
            docs.resolve(&mut bad).await,
            Err(Refusal::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_document_over_the_size_bound_is_not_registered() {
        let docs = Arc::new(PersistedDocuments::new(None, "t", None, BOUNDS));
        let long = format!("{{ viewer {{ user {{ id {} }} }} }}", " ".repeat(2000));
        docs.register(&sha256(&long), &long).await;
        assert_eq!(
            docs.resolve(&mut body(None, &sha256(&long))).await.err(),
            Some(Refusal::NotFound)
        );
    }

    #[tokio::test]
    async fn trusted_mode_runs_only_the_manifests_documents() {
        let manifest = json!({ "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{ "id": sha256(DOC), "name": "Me", "type": "query", "body": DOC }] });
        let trusted = read_manifest(&manifest.to_string()).unwrap();
        let docs = Arc::new(PersistedDocuments::new(None, "t", Some(trusted), BOUNDS));
        let mut known = body(None, &sha256(DOC));
        docs.resolve(&mut known).await.unwrap();
        assert_eq!(known["query"], DOC);
        let other = "{ workspace { id } }";
        let mut full = Map::new();
        full.insert("query".into(), json!(other));
        assert_eq!(
            docs.resolve(&mut full).await.err(),
            Some(Refusal::NotInSafelist)
        );
        assert_eq!(
            docs.resolve(&mut body(Some(other), &sha256(other)))
                .await
                .err(),
            Some(Refusal::NotInSafelist)
        );
        let mut in_full = Map::new();
        in_full.insert("query".into(), json!(DOC));
        assert!(docs.resolve(&mut in_full).await.unwrap().is_none());
    }

    #[test]
    fn manifests_must_hash_to_their_documents() {
        let plain = json!({ sha256(DOC): DOC }).to_string();
        assert_eq!(read_manifest(&plain).unwrap().len(), 1);
        let forged = json!({ sha256("{ x }"): DOC }).to_string();
        assert!(read_manifest(&forged).is_err());
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let mut cache = Cache::default();
        let document: Arc<str> = "d".repeat(1000).into();
        let budget = 100 * (1000 + ENTRY_OVERHEAD);
        for i in 0..1_000 {
            cache.insert(i.to_string(), document.clone(), budget);
            assert!(cache.bytes <= budget);
        }
        assert_eq!(cache.documents.len(), 100);
        assert!(cache.get("0").is_none() && cache.get("999").is_some());
        cache.insert("huge".into(), "x".repeat(budget).into(), budget);
        assert!(cache.get("huge").is_none(), "larger than the whole budget");
    }
}
