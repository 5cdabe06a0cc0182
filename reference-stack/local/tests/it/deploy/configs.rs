//! Each service's TOML config, as the kubelet would hand it over (the ConfigMap mounted where
//! `--config` points, the environment from Secrets and ConfigMaps with `$(NAME)` expanded), loads
//! with that service's own typed loader, and the URLs in it reach the right workload and port.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stack_catalog::CatalogConfig;
use stack_gateway::GatewayConfig;
use stack_iam::IamConfig;
use stack_partner::PartnerConfig;

use super::{Manifests, container, declared_port, list, name, pod_spec, selects};

/// `$(NAME)` of a variable defined earlier in the list is replaced, `$$` is `$`, anything else
/// stays as written: the kubelet's expansion of `env[].value`.
fn expand(value: &str, defined: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((var, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')'))
            && let Some(v) = defined.get(var)
        {
            out.push_str(v);
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The environment the kubelet gives `container`: values from Secrets and ConfigMaps, `$(NAME)`
/// expanded. `secret` may replace a Secret's value (`(name, key) -> value`).
fn kubelet_env(
    m: &Manifests,
    container: &Value,
    secret: &dyn Fn(&str, &str) -> Option<String>,
) -> Vec<(String, String)> {
    assert!(container["envFrom"].is_null(), "envFrom is not modelled here");
    let mut defined = BTreeMap::new();
    let mut env = Vec::new();
    for var in list(&container["env"]) {
        let vname = var["name"].as_str().unwrap().to_string();
        let value = if let Some(value) = var["value"].as_str() {
            expand(value, &defined)
        } else if let Some(r) = var["valueFrom"]["secretKeyRef"].as_object() {
            let (s, k) = (r["name"].as_str().unwrap(), r["key"].as_str().unwrap());
            secret(s, k).or_else(|| m.key_of("Secret", s, k)).unwrap()
        } else if let Some(r) = var["valueFrom"]["configMapKeyRef"].as_object() {
            m.key_of(
                "ConfigMap",
                r["name"].as_str().unwrap(),
                r["key"].as_str().unwrap(),
            )
            .unwrap()
        } else {
            panic!("env {vname}: unsupported source {var}");
        };
        assert!(
            !value.contains("$("),
            "env {vname}: unresolved reference in {value}"
        );
        defined.insert(vname.clone(), value.clone());
        env.push((vname, value));
    }
    env
}

/// One service's pod as Kubernetes would start it: its config file from the ConfigMap mounted
/// where `--config` points, loaded with the service's own loader and the kubelet's environment.
struct Pod<'a> {
    workload: &'a Value,
    container: &'a Value,
    /// The ConfigMap's TOML text.
    toml: String,
}

impl<'a> Pod<'a> {
    fn of(m: &'a Manifests, deployment: &str) -> Pod<'a> {
        let workload = m.get("Deployment", deployment);
        let container = container(workload, deployment);
        let args: Vec<&str> = list(&container["args"])
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let ["--config", path] = args.as_slice() else {
            panic!("{deployment}: args are not [--config, FILE]: {args:?}");
        };
        let (volume, key) = list(&container["volumeMounts"])
            .iter()
            .find_map(|mount| {
                let at = mount["mountPath"].as_str()?;
                match mount["subPath"].as_str() {
                    Some(key) if at == *path => Some((mount["name"].as_str()?, key.to_string())),
                    None => Some((
                        mount["name"].as_str()?,
                        path.strip_prefix(&format!("{at}/"))?.to_string(),
                    )),
                    _ => None,
                }
            })
            .unwrap_or_else(|| panic!("{deployment}: nothing is mounted at {path}"));
        let config_map = list(&pod_spec(workload)["volumes"])
            .iter()
            .find(|v| v["name"] == volume)
            .and_then(|v| v["configMap"]["name"].as_str())
            .unwrap_or_else(|| panic!("{deployment}: {path} is not from a ConfigMap"));
        let toml = m
            .key_of("ConfigMap", config_map, &key)
            .unwrap_or_else(|| panic!("ConfigMap {config_map} has no {key}"));
        Pod {
            workload,
            container,
            toml,
        }
    }

    /// Loads the config through `stack_common::config::load`, as the binary does; panics with
    /// the loader's message (naming the key) when it fails.
    fn load<C: Serialize + DeserializeOwned + Default>(
        &self,
        m: &Manifests,
        prefix: &str,
        secret: &dyn Fn(&str, &str) -> Option<String>,
    ) -> C {
        self.load_text(&self.toml, m, prefix, secret)
            .unwrap_or_else(|e| panic!("{}: {e}", name(self.workload)))
    }

    fn load_text<C: Serialize + DeserializeOwned + Default>(
        &self,
        toml: &str,
        m: &Manifests,
        prefix: &str,
        secret: &dyn Fn(&str, &str) -> Option<String>,
    ) -> Result<C, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{}.toml", name(self.workload)));
        std::fs::write(&file, toml).unwrap();
        stack_common::config::load(
            Some(file.as_path()),
            prefix,
            kubelet_env(m, self.container, secret),
        )
        .map_err(|e| e.to_string())
    }

    /// The container port named `http`.
    fn http_port(&self) -> u64 {
        declared_port(pod_spec(self.workload), &Value::from("http")).unwrap()
    }

    /// Whether `dir` is where a PersistentVolumeClaim is mounted in this container.
    fn persists(&self, dir: &Path) -> bool {
        list(&self.container["volumeMounts"]).iter().any(|mount| {
            Path::new(mount["mountPath"].as_str().unwrap()) == dir
                && list(&pod_spec(self.workload)["volumes"])
                    .iter()
                    .any(|v| v["name"] == mount["name"] && v["persistentVolumeClaim"].is_object())
        })
    }
}

fn no_override(_: &str, _: &str) -> Option<String> {
    None
}

/// The Deployment or StatefulSet and container port that `host:port` reaches through a Service
/// of the same namespace (a short name, as the configs use).
fn reached_through_service<'a>(m: &'a Manifests, host: &str, port: u64) -> (&'a Value, u64) {
    let service = m.get("Service", host);
    let service_port = list(&service["spec"]["ports"])
        .iter()
        .find(|p| p["port"].as_u64() == Some(port))
        .unwrap_or_else(|| panic!("Service {host} has no port {port}"));
    let target = if service_port["targetPort"].is_null() {
        &service_port["port"]
    } else {
        &service_port["targetPort"]
    };
    let workload = m
        .workloads()
        .into_iter()
        .find(|w| {
            selects(
                &service["spec"]["selector"],
                &w["spec"]["template"]["metadata"]["labels"],
            )
        })
        .unwrap_or_else(|| panic!("Service {host} selects no pods"));
    (workload, declared_port(pod_spec(workload), target).unwrap())
}

/// The workload and container port an `http://host:port/..` or `amqp://..` URL reaches.
fn reached_by_url<'a>(m: &'a Manifests, url: &str) -> (&'a Value, u64, reqwest::Url) {
    let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let host = parsed.host_str().unwrap().to_string();
    let port = parsed
        .port()
        .unwrap_or_else(|| panic!("{url}: give the port explicitly"));
    let (workload, container_port) = reached_through_service(m, &host, port.into());
    (workload, container_port, parsed)
}

#[test]
fn each_config_map_loads_with_its_services_own_config_loader() {
    let m = Manifests::load();
    let (iam_pod, catalog_pod) = (Pod::of(&m, "iam"), Pod::of(&m, "catalog"));
    let (gateway_pod, partner_pod) = (Pod::of(&m, "gateway"), Pod::of(&m, "partner"));
    let iam: IamConfig = iam_pod.load(&m, "GAUNTLET_IAM", &no_override);
    let catalog: CatalogConfig = catalog_pod.load(&m, "GAUNTLET_CATALOG", &no_override);
    let gateway: GatewayConfig = gateway_pod.load(&m, "GAUNTLET_GATEWAY", &no_override);
    let partner: PartnerConfig = partner_pod.load(&m, "GAUNTLET_PARTNER", &no_override);
    catalog.check().unwrap_or_else(|e| panic!("catalog config: {e}"));
    partner.check().unwrap_or_else(|e| panic!("partner config: {e}"));
    gateway
        .validate()
        .unwrap_or_else(|e| panic!("gateway config: {e}"));

    // each listens on all interfaces, on the port its pod declares (and probes)
    for (pod, listen) in [
        (&iam_pod, iam.listen),
        (&catalog_pod, catalog.listen),
        (&gateway_pod, gateway.listen),
        (&partner_pod, partner.listen),
    ] {
        let what = name(pod.workload);
        assert!(
            listen.ip().is_unspecified(),
            "{what} listens on {listen}: unreachable from other pods"
        );
        assert_eq!(
            u64::from(listen.port()),
            pod.http_port(),
            "{what}: listen vs containerPort"
        );
    }
    for (pod, dir) in [
        (&iam_pod, &iam.data_dir),
        (&catalog_pod, &catalog.data_dir),
        (&partner_pod, &partner.data_dir),
    ] {
        assert!(
            pod.persists(dir),
            "{}: data_dir {} is not on a volume claim",
            name(pod.workload),
            dir.display()
        );
    }

    // secrets reach the configs: iam's admin and clients, partner's own client
    let secret = |s: &str, k: &str| m.key_of("Secret", s, k).unwrap();
    assert_eq!(iam.admin.password, secret("stack-secrets", "admin-password"));
    let client = |id: &str| {
        iam.clients
            .iter()
            .find(|c| c.client_id == id)
            .unwrap_or_else(|| panic!("no client {id}"))
    };
    assert_eq!(
        client("demo-client").client_secret,
        secret("stack-secrets", "demo-client-secret")
    );
    let partner_client = client(partner.client_id.as_str());
    assert_eq!(
        partner_client.client_secret, partner.client_secret,
        "partner's secret as iam knows it"
    );
    for scope in partner.scope.split_whitespace() {
        assert!(
            partner_client.scopes.iter().any(|s| s == scope),
            "iam does not grant partner {scope}"
        );
    }

    // iam is reached where the others look for it; tokens carry what they check
    for (who, url) in [
        ("catalog", &catalog.iam_url),
        ("gateway", &gateway.iam_url),
        ("partner", &partner.iam_url),
    ] {
        let (target, port, _) = reached_by_url(&m, url);
        assert_eq!(name(target), "iam", "{who}'s iam_url {url}");
        assert_eq!(port, u64::from(iam.listen.port()), "{who}'s iam_url {url}");
    }
    for (who, issuer, audience) in [
        ("catalog", &catalog.issuer, &catalog.audience),
        ("gateway", &gateway.issuer, &gateway.audience),
    ] {
        assert_eq!(
            (issuer, audience),
            (&iam.issuer, &iam.audience),
            "{who}'s token checks vs iam's tokens"
        );
    }

    // the gateway: catalog's pods by the headless Service's DNS records, on the pods' own port
    // (a headless Service has no virtual IP to translate the port); iam through its Service
    let dns = gateway.upstreams["catalog"]
        .dns
        .as_ref()
        .expect("the catalog upstream uses dns");
    let headless = m.get("Service", &dns.name);
    assert_eq!(
        headless["spec"]["clusterIP"], "None",
        "{} must be headless",
        dns.name
    );
    let (target, _) = reached_through_service(
        &m,
        &dns.name,
        headless["spec"]["ports"][0]["port"].as_u64().unwrap(),
    );
    assert_eq!(name(target), "catalog");
    assert_eq!(
        dns.ports,
        [catalog.listen.port()],
        "the gateway dials catalog's pods on catalog's listen port"
    );
    // a terminating catalog pod leaves DNS at once but the gateways see that only at their next
    // resolution: it must go on serving until then
    let catalog_pause = catalog_pod.container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        catalog_pause * 1000 > dns.refresh_ms,
        "catalog's preStop pause ({catalog_pause}s) must outlast the gateway's DNS refresh ({} ms)",
        dns.refresh_ms
    );
    let iam_dns = gateway.upstreams["iam"]
        .dns
        .as_ref()
        .expect("the iam upstream uses dns");
    let (target, port) = reached_through_service(&m, &iam_dns.name, iam_dns.ports[0].into());
    assert_eq!((name(target), port), ("iam", u64::from(iam.listen.port())));
    for (upstream, config) in &gateway.upstreams {
        assert_eq!(
            config.health_path, "/readyz",
            "upstreams.{upstream}: the same check as the pods' readiness"
        );
    }
    let grace = pod_spec(gateway_pod.workload)["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    let pause = gateway_pod.container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        (pause * 1000 + gateway.drain_timeout_ms) < grace * 1000,
        "gateway: preStop {pause}s + drain {} ms must end before the {grace}s grace period",
        gateway.drain_timeout_ms
    );

    // partner fetches through the gateway's /api route
    let (target, port, url) = reached_by_url(&m, &partner.catalog_url);
    assert_eq!(
        (name(target), port),
        ("gateway", u64::from(gateway.listen.port()))
    );
    assert!(
        gateway
            .routes
            .iter()
            .any(|r| r.prefix == url.path() && r.methods.iter().any(|method| method == "GET")),
        "no gateway route takes GET {}",
        url.path()
    );

    // catalog and partner reach the broker with its user, on one exchange
    let rabbitmq = m.get("StatefulSet", "rabbitmq");
    let broker_env = kubelet_env(&m, container(rabbitmq, "rabbitmq"), &no_override);
    let broker_var = |n: &str| broker_env.iter().find(|(k, _)| k == n).unwrap().1.clone();
    for (who, amqp_url) in [
        ("catalog", catalog.amqp_url.as_deref().unwrap()),
        ("partner", partner.amqp_url.as_str()),
    ] {
        let (target, port, url) = reached_by_url(&m, amqp_url);
        assert_eq!((name(target), port), ("rabbitmq", 5672), "{who}'s amqp_url");
        assert_eq!(
            url.username(),
            broker_var("RABBITMQ_DEFAULT_USER"),
            "{who}'s amqp_url user"
        );
        assert_eq!(
            url.password(),
            Some(broker_var("RABBITMQ_DEFAULT_PASS").as_str()),
            "{who}'s amqp_url"
        );
    }
    assert_eq!(catalog.events_exchange, partner.events_exchange);
}

#[test]
fn a_key_the_service_does_not_know_fails_the_load_and_a_numeric_secret_stays_a_string() {
    let m = Manifests::load();
    // the check above can fail: a misspelt key in a ConfigMap is an error naming it
    let gateway_pod = Pod::of(&m, "gateway");
    let misspelt = gateway_pod
        .toml
        .replace("refresh_ms = 2000", "refresh_msec = 2000");
    assert_ne!(misspelt, gateway_pod.toml);
    let err = gateway_pod
        .load_text::<GatewayConfig>(&misspelt, &m, "GAUNTLET_GATEWAY", &no_override)
        .unwrap_err();
    assert!(err.contains("refresh_msec"), "{err}");
    let iam_pod = Pod::of(&m, "iam");
    let err = iam_pod
        .load_text::<IamConfig>(
            &format!("token_ttl = 60\n{}", iam_pod.toml),
            &m,
            "GAUNTLET_IAM",
            &no_override,
        )
        .unwrap_err();
    assert!(err.contains("token_ttl"), "{err}");

    // Environment values are read as TOML literals; the manifests quote secrets, so a secret of
    // digits (or `true`) is still the string it was, not a number that fails the load.
    let numeric = |_: &str, key: &str| match key {
        "admin-password" | "partner-client-secret" | "password" => Some("12345678".to_string()),
        "demo-client-secret" => Some("true".to_string()),
        _ => None,
    };
    let iam: IamConfig = iam_pod.load(&m, "GAUNTLET_IAM", &numeric);
    assert_eq!(iam.admin.password, "12345678");
    assert!(iam.clients.iter().any(|c| c.client_secret == "true"));
    let partner: PartnerConfig = Pod::of(&m, "partner").load(&m, "GAUNTLET_PARTNER", &numeric);
    assert_eq!(partner.client_secret, "12345678");
    assert!(
        partner.amqp_url.contains(":12345678@rabbitmq:"),
        "{}",
        partner.amqp_url
    );
}

#[test]
fn kubelet_expansion_replaces_defined_variables_only() {
    let defined = BTreeMap::from([("A".to_string(), "x".to_string())]);
    assert_eq!(expand("\"$(A)\"", &defined), "\"x\"");
    assert_eq!(expand("$$(A) $(B) $ a$", &defined), "$(A) $(B) $ a$");
}
