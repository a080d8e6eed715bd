//! Persisted queries: a client sends the SHA-256 of a document instead of
//! the document (the Automatic Persisted Queries protocol,
//! `extensions.persistedQuery { version: 1, sha256Hash }`), over POST, GET
//! (so a CDN can cache a query by its URL) and websockets.
//!
//! - A hash the server does not know is `PersistedQueryNotFound`; the client
//!   sends it again with the document, which registers it.
//! - Registered documents are kept in Redis when it is configured (every
//!   instance knows every document, for 30 days after its last
//!   registration), with a bounded in-memory cache in front; in memory
//!   alone otherwise.
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

/// Documents kept in memory per instance.
const CACHE_ENTRIES: usize = 10_000;
/// Seconds a registration lasts in Redis after the last time it was sent.
const REDIS_TTL_SECS: u64 = 30 * 24 * 3600;

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

/// The documents this instance knows by hash.
pub struct PersistedDocuments {
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
    ) -> PersistedDocuments {
        PersistedDocuments {
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
        Ok(PersistedDocuments::new(
            redis,
            &config.redis_prefix,
            trusted,
        ))
    }

    /// Puts the document a GraphQL request body (`map`) runs under `query`:
    /// its own, checked and registered when it comes with its hash, or the
    /// one its hash names.
    pub async fn resolve(&self, map: &mut Map<String, Value>) -> Result<(), Refusal> {
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
            return Ok(());
        };
        let hash = hash_of(&persisted)?;
        match query {
            Some(query) => {
                if sha256(query) != hash {
                    return Err(Refusal::Invalid("provided sha does not match query".into()));
                }
                match &self.trusted {
                    Some(trusted) if !trusted.contains_key(&hash) => Err(Refusal::NotInSafelist),
                    Some(_) => Ok(()),
                    None => {
                        self.register(hash, query).await;
                        Ok(())
                    }
                }
            }
            None => {
                let document = self.find(&hash).await.ok_or(Refusal::NotFound)?;
                map.insert("query".into(), Value::String(document.to_string()));
                Ok(())
            }
        }
    }

    /// The same for a GET's query string.
    pub async fn resolve_params(&self, params: &mut Vec<(String, String)>) -> Result<(), Refusal> {
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
        self.resolve(&mut map).await?;
        if let (false, Some(Value::String(document))) = (had_query, map.remove("query")) {
            params.push(("query".into(), document));
        }
        Ok(())
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
                self.cache
                    .lock()
                    .expect("document cache")
                    .insert(hash.to_owned(), document.clone());
                Some(document)
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(error = %err, "reading a persisted query from Redis failed");
                None
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn register(&self, hash: String, document: &str) {
        let document: Arc<str> = document.into();
        self.cache
            .lock()
            .expect("document cache")
            .insert(hash.clone(), document.clone());
        if let Some((redis, prefix)) = &self.redis {
            let stored: redis::RedisResult<()> = redis::cmd("SET")
                .arg(format!("{prefix}{hash}"))
                .arg(&*document)
                .arg("EX")
                .arg(REDIS_TTL_SECS)
                .query_async(&mut redis.clone())
                .await;
            if let Err(err) = stored {
                // This instance still knows it; the others ask for it again.
                tracing::warn!(error = %err, "storing a persisted query in Redis failed");
            }
        }
    }
}

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

/// Documents by hash, the oldest dropped first once full.
#[derive(Default)]
struct Cache {
    documents: HashMap<String, Arc<str>>,
    order: VecDeque<String>,
}

impl Cache {
    fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.documents.get(hash).cloned()
    }

    fn insert(&mut self, hash: String, document: Arc<str>) {
        if self.documents.insert(hash.clone(), document).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > CACHE_ENTRIES {
            if let Some(oldest) = self.order.pop_front() {
                self.documents.remove(&oldest);
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
    async fn an_unknown_hash_is_not_found_until_sent_with_its_document() {
        let docs = PersistedDocuments::new(None, "t", None);
        let hash = sha256(DOC);
        assert_eq!(
            docs.resolve(&mut body(None, &hash)).await,
            Err(Refusal::NotFound)
        );
        docs.resolve(&mut body(Some(DOC), &hash)).await.unwrap();
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
    async fn trusted_mode_runs_only_the_manifests_documents() {
        let manifest = json!({ "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{ "id": sha256(DOC), "name": "Me", "type": "query", "body": DOC }] });
        let trusted = read_manifest(&manifest.to_string()).unwrap();
        let docs = PersistedDocuments::new(None, "t", Some(trusted));
        let mut known = body(None, &sha256(DOC));
        docs.resolve(&mut known).await.unwrap();
        assert_eq!(known["query"], DOC);
        let other = "{ workspace { id } }";
        let mut full = Map::new();
        full.insert("query".into(), json!(other));
        assert_eq!(docs.resolve(&mut full).await, Err(Refusal::NotInSafelist));
        assert_eq!(
            docs.resolve(&mut body(Some(other), &sha256(other))).await,
            Err(Refusal::NotInSafelist)
        );
        let mut in_full = Map::new();
        in_full.insert("query".into(), json!(DOC));
        docs.resolve(&mut in_full).await.unwrap();
    }

    #[test]
    fn manifests_must_hash_to_their_documents() {
        let plain = json!({ sha256(DOC): DOC }).to_string();
        assert_eq!(read_manifest(&plain).unwrap().len(), 1);
        let forged = json!({ sha256("{ x }"): DOC }).to_string();
        assert!(read_manifest(&forged).is_err());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let mut cache = Cache::default();
        for i in 0..CACHE_ENTRIES + 10 {
            cache.insert(i.to_string(), "d".into());
        }
        assert_eq!(cache.documents.len(), CACHE_ENTRIES);
        assert!(cache.get("0").is_none() && cache.get(&(CACHE_ENTRIES + 9).to_string()).is_some());
    }
}
