//! A service's ports, volumes and networks: the container side kept, what sim decides itself
//! (host ports and addresses, the network) checked and dropped.

use serde_yaml::Value;
use specfile::Scalar;

use super::{text, Compiler};
use crate::compose::plan::{VolumeMount, VolumeSource};

impl Compiler<'_> {
    /// `ports`: the container port of each, short (`"8080:80"`) or long (`{ target: 80 }`).
    /// The host address and port are dropped: sim publishes on 127.0.0.1, on ports it picks.
    pub(super) fn ports(&mut self, at: &str, ports: &[Value]) -> Vec<u16> {
        let mut kept = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let field = format!("{at}.ports[{i}]");
            let port = match port {
                Value::Mapping(map) => {
                    let fields = [
                        "target",
                        "published",
                        "host_ip",
                        "protocol",
                        "mode",
                        "name",
                        "app_protocol",
                    ];
                    let known = self.value_keys(&field, map, &fields);
                    if let Some(protocol) =
                        known.get("protocol").and_then(text).filter(|p| p != "tcp")
                    {
                        self.p.push(
                            &format!("{field}.protocol"),
                            format!("sim publishes TCP ports only, not {protocol}"),
                            None,
                        );
                    }
                    match known.get("target") {
                        Some(target) => self
                            .scalar(&format!("{field}.target"), target)
                            .and_then(|t| self.port(&format!("{field}.target"), &t)),
                        None => {
                            self.p
                                .push(&field, "needs `target:`, the container port", None);
                            None
                        }
                    }
                }
                other => self.scalar(&field, other).and_then(|short| {
                    let container = short.rsplit(':').next().unwrap_or_default().to_owned();
                    self.port(&field, &container)
                }),
            };
            kept.extend(port);
        }
        kept
    }

    /// `expose`: container ports other services use.
    pub(super) fn expose(&mut self, at: &str, expose: &[Scalar]) -> Vec<u16> {
        expose
            .iter()
            .enumerate()
            .filter_map(|(i, port)| self.port(&format!("{at}.expose[{i}]"), port.as_str()))
            .collect()
    }

    /// One container port, `80` or `80/tcp`.
    fn port(&mut self, field: &str, text: &str) -> Option<u16> {
        let (number, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
        if protocol != "tcp" {
            self.p.push(
                field,
                format!("sim publishes TCP ports only, not {protocol}"),
                None,
            );
            return None;
        }
        match number.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ if number.contains('-') => {
                self.p.push(
                    field,
                    format!("port ranges ({number}) are not supported"),
                    Some("list each port".into()),
                );
                None
            }
            _ => {
                self.p.push(
                    field,
                    format!("invalid port {text:?}: expected a number 1..=65535"),
                    None,
                );
                None
            }
        }
    }

    /// `volumes`: named volumes (declared at the top level) and bind mounts (which must exist),
    /// short (`data:/var/lib/data:ro`) or long (`{ type: bind, source, target, read_only }`).
    pub(super) fn volumes(
        &mut self,
        at: &str,
        volumes: &[Value],
        declared: &[String],
    ) -> Vec<VolumeMount> {
        let mut mounts = Vec::new();
        for (i, volume) in volumes.iter().enumerate() {
            let field = format!("{at}.volumes[{i}]");
            let parts = match volume {
                Value::Mapping(map) => {
                    let known =
                        self.value_keys(&field, map, &["type", "source", "target", "read_only"]);
                    let get = |key: &str| known.get(key).and_then(text);
                    let kind = get("type").unwrap_or_else(|| "volume".to_owned());
                    if !matches!(kind.as_str(), "volume" | "bind") {
                        self.p.push(
                            &format!("{field}.type"),
                            format!("sim supports `volume` and `bind` mounts, not `{kind}`"),
                            None,
                        );
                    }
                    let read_only = get("read_only").is_some_and(|r| r == "true");
                    get("source")
                        .zip(get("target"))
                        .map(|(source, target)| (source, target, read_only))
                        .or_else(|| {
                            self.p.push(&field, "needs `source:` and `target:`", None);
                            None
                        })
                }
                other => self
                    .scalar(&field, other)
                    .and_then(|short| self.short_volume(&field, &short)),
            };
            let Some((source, target, read_only)) = parts else {
                continue;
            };
            let source = if source.starts_with(['.', '/', '~']) {
                let path = match source.strip_prefix("~/") {
                    Some(rest) => std::env::var_os("HOME")
                        .map(std::path::PathBuf::from)
                        .unwrap_or_default()
                        .join(rest),
                    None => self.dir.join(&source),
                };
                if !path.exists() {
                    self.p.push(
                        &field,
                        format!("the bind mount source {} does not exist", path.display()),
                        Some("create it, or give a path relative to the compose file".into()),
                    );
                }
                // Docker takes absolute sources only; the scenario may be named relative to here.
                VolumeSource::Bind(std::fs::canonicalize(&path).unwrap_or(path))
            } else {
                if !declared.contains(&source) {
                    self.p.push(
                        &field,
                        format!(
                            "the volume `{source}` is not declared under the top-level `volumes:`"
                        ),
                        Some(format!("add `volumes: {{ {source}: }}` at the top level")),
                    );
                }
                VolumeSource::Named(source)
            };
            mounts.push(VolumeMount {
                source,
                target,
                read_only,
            });
        }
        mounts
    }

    /// `SOURCE:TARGET[:ro|rw]`.
    fn short_volume(&mut self, field: &str, short: &str) -> Option<(String, String, bool)> {
        let parts: Vec<&str> = short.split(':').collect();
        match parts.as_slice() {
            [source, target] => Some(((*source).to_owned(), (*target).to_owned(), false)),
            [source, target, mode @ ("ro" | "rw")] => {
                Some(((*source).to_owned(), (*target).to_owned(), *mode == "ro"))
            }
            [_] => {
                self.p.push(
                    field,
                    "sim does not create anonymous volumes",
                    Some(format!(
                        "name it: `data:{short}`, with `data:` under the top-level `volumes:`"
                    )),
                );
                None
            }
            _ => {
                self.p.push(
                    field,
                    format!("expected SOURCE:TARGET or SOURCE:TARGET:ro, got {short:?}"),
                    None,
                );
                None
            }
        }
    }

    /// `networks`: sim puts the whole project on the run's one network, so a service may name
    /// only `default` or the file's one network; its `aliases` are kept.
    pub(super) fn networks(
        &mut self,
        at: &str,
        networks: Option<&Value>,
        declared: &[String],
    ) -> Vec<String> {
        let at = format!("{at}.networks");
        let entries: Vec<(String, String, Option<&Value>)> = match networks {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Sequence(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| Some((text(item)?, format!("{at}[{i}]"), None)))
                .collect(),
            Some(Value::Mapping(map)) => map
                .iter()
                .filter_map(|(key, value)| {
                    let name = text(key)?;
                    let field = format!("{at}.{name}");
                    Some((name, field, Some(value)))
                })
                .collect(),
            Some(_) => {
                self.p.push(
                    &at,
                    "must be a list of networks, or a map of them to { aliases }",
                    None,
                );
                return Vec::new();
            }
        };
        if let Some((_, field, _)) = entries.get(1) {
            self.p.push(field, "sim puts the whole project on the run's one network, so a service can join only one", Some("keep one network".into()));
        }
        let mut aliases = Vec::new();
        for (name, field, settings) in entries {
            if name != "default" && !declared.contains(&name) {
                self.p.push(
                    &field,
                    format!("the network `{name}` is not declared under the top-level `networks:`"),
                    specfile::did_you_mean(
                        &name,
                        &declared.iter().map(String::as_str).collect::<Vec<_>>(),
                    ),
                );
            }
            let Some(Value::Mapping(settings)) = settings else {
                continue;
            };
            let known = self.value_keys(&field, settings, &["aliases"]);
            match known.get("aliases") {
                Some(Value::Sequence(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        aliases.extend(self.scalar(&format!("{field}.aliases[{i}]"), item));
                    }
                }
                Some(_) => {
                    self.p
                        .push(&format!("{field}.aliases"), "must be a list of names", None)
                }
                None => {}
            }
        }
        aliases
    }
}
