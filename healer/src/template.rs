//! Step parameters templated with the incident: `{{target}}`, `{{labels.NAME}}`, `{{incident}}`,
//! `{{class}}` and `{{excerpt}}` (the target's last log lines, redacted, one per line). Templates are checked when the runbook is compiled, rendered when a step runs.

use std::fmt;

use crate::signal::TargetRef;

/// The placeholders a template may use, for error messages.
const KNOWN: &str = "{{target}}, {{labels.NAME}}, {{incident}}, {{class}}, {{excerpt}}";

/// A parsed template: literal text and placeholders, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Target,
    Label(String),
    Incident,
    Class,
    Excerpt,
}

/// What a template is rendered with.
pub(crate) struct Context<'a> {
    pub(crate) target: &'a TargetRef,
    pub(crate) incident: &'a str,
    pub(crate) class: &'a str,
    /// The log excerpt attached to the incident (empty when there is none).
    pub(crate) excerpt: &'a [String],
}

impl Template {
    /// Parses `text`; `Err` says which placeholder is wrong.
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("`{{{{` without `}}}}` in {text:?}"))?;
            let name = after[..close].trim();
            parts.push(match name {
                "target" => Part::Target,
                "incident" => Part::Incident,
                "class" => Part::Class,
                "excerpt" => Part::Excerpt,
                _ => match name.strip_prefix("labels.") {
                    Some(label) if !label.is_empty() => Part::Label(label.to_owned()),
                    _ => return Err(format!("unknown placeholder `{{{{{name}}}}}`; use {KNOWN}")),
                },
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The text with the placeholders filled in; `Err` names a label the target lacks.
    pub(crate) fn render(&self, context: &Context<'_>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Target => out.push_str(&context.target.name),
                Part::Incident => out.push_str(context.incident),
                Part::Class => out.push_str(context.class),
                Part::Excerpt => out.push_str(&context.excerpt.join("\n")),
                Part::Label(label) => match context.target.labels.get(label) {
                    Some(value) => out.push_str(value),
                    None => {
                        return Err(format!(
                            "{} has no label `{label}` for `{{{{labels.{label}}}}}`",
                            context.target.name
                        ))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// The template as written.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(text)?,
                Part::Target => f.write_str("{{target}}")?,
                Part::Incident => f.write_str("{{incident}}")?,
                Part::Class => f.write_str("{{class}}")?,
                Part::Excerpt => f.write_str("{{excerpt}}")?,
                Part::Label(label) => write!(f, "{{{{labels.{label}}}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn render(text: &str) -> Result<String, String> {
        let target = TargetRef {
            id: "abc".into(),
            name: "leaky-0".into(),
            labels: BTreeMap::from([("team".to_owned(), "core".to_owned())]),
        };
        let context = Context {
            target: &target,
            incident: "leaky-0-oom-1",
            class: "oom",
            excerpt: &["FATAL: out of memory".to_owned(), "bye".to_owned()],
        };
        Template::parse(text)?.render(&context)
    }

    #[test]
    fn placeholders_are_filled_from_the_incident() {
        assert_eq!(
            render("{{target}} ({{ labels.team }}): {{class}} in {{incident}}!").unwrap(),
            "leaky-0 (core): oom in leaky-0-oom-1!"
        );
        assert_eq!(
            render("logs:\n{{excerpt}}").unwrap(),
            "logs:\nFATAL: out of memory\nbye"
        );
        assert_eq!(render("plain").unwrap(), "plain");
        assert_eq!(render("").unwrap(), "");
    }

    #[test]
    fn bad_templates_and_missing_labels_are_errors() {
        assert!(render("{{tagret}}")
            .unwrap_err()
            .contains("unknown placeholder `{{tagret}}`"));
        assert!(render("{{labels.}}")
            .unwrap_err()
            .contains("unknown placeholder"));
        assert!(render("{{target").unwrap_err().contains("without"));
        assert_eq!(
            render("{{labels.owner}}").unwrap_err(),
            "leaky-0 has no label `owner` for `{{labels.owner}}`"
        );
    }

    #[test]
    fn display_gives_back_the_template() {
        let text = "POST {{target}}/{{labels.a}} {{incident}} {{class}} {{excerpt}}";
        assert_eq!(Template::parse(text).unwrap().to_string(), text);
    }
}
