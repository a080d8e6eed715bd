//! Media types of GraphQL over HTTP: which one the client accepts, and
//! whether a request body is JSON.

/// The two response media types of the GraphQL-over-HTTP spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`: request errors get 4xx statuses.
    GraphqlResponse,
    /// `application/json`: the legacy type; every well-formed request gets 200.
    Json,
}

impl ResponseType {
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from an Accept header; `None` when neither is
/// acceptable (406). Each type takes the quality of the most specific range
/// that matches it (RFC 9110), so `application/json;q=0, */*` refuses JSON.
/// A missing header, or one that names neither type (`*/*`), gets
/// `application/json`, the type every client understands.
pub fn negotiate(accept: Option<&str>) -> Option<ResponseType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(ResponseType::Json);
    };
    let graphql = quality(accept, "application/graphql-response+json");
    let json = quality(accept, "application/json");
    let (q_graphql, q_json) = (graphql.map_or(0.0, |m| m.q), json.map_or(0.0, |m| m.q));
    let graphql_named = graphql.is_some_and(|m| m.exact);
    match () {
        _ if q_graphql <= 0.0 && q_json <= 0.0 => None,
        _ if q_graphql > q_json || (q_graphql == q_json && graphql_named) => {
            Some(ResponseType::GraphqlResponse)
        }
        _ => Some(ResponseType::Json),
    }
}

#[derive(Clone, Copy)]
struct Match {
    q: f32,
    /// The range named the type itself (not a wildcard).
    exact: bool,
}

/// The quality the Accept header gives `media`: that of its most specific matching range.
fn quality(accept: &str, media: &str) -> Option<Match> {
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, Match)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let specificity = if name == media {
            3
        } else if name.strip_suffix("/*") == Some(kind) {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((
                specificity,
                Match {
                    q,
                    exact: specificity == 3,
                },
            ));
        }
    }
    best.map(|(_, m)| m)
}

/// Whether a Content-Type names JSON (`application/json`, any parameters).
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_response_type() {
        use ResponseType::*;
        assert_eq!(negotiate(None), Some(Json));
        assert_eq!(negotiate(Some("*/*")), Some(Json));
        assert_eq!(negotiate(Some("application/json")), Some(Json));
        assert_eq!(
            negotiate(Some("application/graphql-response+json")),
            Some(GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(Json)
        );
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
        assert_eq!(
            negotiate(Some("application/json;q=0, */*")),
            Some(GraphqlResponse)
        );
        assert_eq!(negotiate(Some("application/json, */*")), Some(Json));
        assert_eq!(negotiate(Some("application/*")), Some(Json));
    }

    #[test]
    fn only_json_bodies_are_accepted() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        for other in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            assert!(!is_json(Some(other)));
        }
        assert!(!is_json(None));
    }
}
