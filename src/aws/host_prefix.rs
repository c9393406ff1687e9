//! Endpoint host prefixes on an emulator's address. Some operations go to a prefixed host
//! (CloudWatch Logs Live Tail to `stream-logs.<region>.amazonaws.com`); the SDK puts the
//! prefix before the overridden endpoint too, which turns `127.0.0.1` into a name that does
//! not resolve. [`NoPrefixOnAddresses`] takes it off an address (or `localhost`), the only
//! hosts no AWS endpoint ever has; a real endpoint keeps its prefix.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The prefixes of the operations gwfargate calls that have one.
const PREFIXES: &[&str] = &["stream-"];

/// The interceptor every client carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPrefixOnAddresses;

impl Intercept for NoPrefixOnAddresses {
    fn name(&self) -> &'static str {
        "gwfargate::NoPrefixOnAddresses"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(uri) = without_prefix(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// `uri` without the host prefix, when its host is an address or `localhost` with one.
fn without_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let prefix = PREFIXES.iter().find(|p| rest.starts_with(*p))?;
    let after = &rest[prefix.len()..];
    let host = after.split(['/', '?']).next()?;
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let local = bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok();
    local.then(|| format!("{scheme}://{after}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_comes_off_an_address_but_not_off_an_aws_host() {
        assert_eq!(
            without_prefix("http://stream-127.0.0.1:4566/").as_deref(),
            Some("http://127.0.0.1:4566/")
        );
        assert_eq!(
            without_prefix("http://stream-localhost:4566/x?y").as_deref(),
            Some("http://localhost:4566/x?y")
        );
        assert_eq!(
            without_prefix("https://stream-logs.eu-west-1.amazonaws.com/"),
            None
        );
        assert_eq!(without_prefix("http://127.0.0.1:4566/"), None);
    }
}
