//! A configured route, ready to serve: whether a request's path and method are its own, and the
//! target (rewritten prefix, query kept) it is forwarded to.

use std::sync::Arc;

use http::Method;

use crate::config::RouteConfig;
use crate::ratelimit::RateLimiter;
use crate::upstream::Upstream;

/// A configured route, ready to serve.
pub struct Route {
    /// Its configuration.
    pub config: RouteConfig,
    pub(super) methods: Vec<Method>,
    pub(super) limiter: Option<RateLimiter>,
    pub(super) upstream: Arc<Upstream>,
}

impl Route {
    /// A route over its upstream.
    pub fn new(config: RouteConfig, upstream: Arc<Upstream>) -> Route {
        Route {
            methods: config
                .methods
                .iter()
                .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                .collect(),
            limiter: config.rate_limit.as_ref().map(RateLimiter::new),
            config,
            upstream,
        }
    }

    pub(super) fn matches_path(&self, path: &str) -> bool {
        let prefix = self.config.prefix.as_str();
        prefix == "/"
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    pub(super) fn takes(&self, method: &Method) -> bool {
        self.methods.is_empty() || self.methods.contains(method)
    }

    /// The upstream target (origin form: path and query) for `uri`, whose path this route
    /// matched.
    pub(super) fn upstream_target(&self, uri: &http::Uri) -> String {
        let path = uri.path();
        let query = uri.query();
        let mut target = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1) + 8);
        match &self.config.rewrite {
            None => target.push_str(path),
            Some(replacement) => {
                target.push_str(replacement);
                target.push_str(&path[self.config.prefix.len().min(path.len())..]);
                if target.is_empty() {
                    target.push('/');
                }
            }
        }
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        target
    }
}
