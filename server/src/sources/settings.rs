//! Reading a source's parameters (the form's text values) into typed settings, with errors
//! that name the field and the cause, as the back office shows them.

use app::domain::{FieldSpec, FieldType, FieldValues};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {cause}")]
pub struct SettingsError {
    pub field: String,
    pub cause: String,
}

impl SettingsError {
    pub fn new(field: &str, cause: impl Into<String>) -> Self {
        Self { field: field.to_owned(), cause: cause.into() }
    }
}

/// A kind's parameters with their specification: every getter applies the default, checks
/// presence and type, and names the field when it fails.
pub struct Fields<'a> {
    values: &'a FieldValues,
    spec: &'static [FieldSpec],
}

impl<'a> Fields<'a> {
    /// Checks every field of `spec` (required ones present, integers, addresses, flags).
    pub fn check(values: &'a FieldValues, spec: &'static [FieldSpec]) -> Result<Self, SettingsError> {
        let fields = Self { values, spec };
        for field in spec {
            match field.field_type {
                FieldType::Integer => {
                    fields.integer_opt(field.name)?;
                }
                FieldType::Url => {
                    fields.url_opt(field.name)?;
                }
                FieldType::Flag => {
                    fields.flag(field.name)?;
                }
                FieldType::Text | FieldType::Secret => {}
            }
            if field.required && fields.text(field.name).is_none() {
                return Err(SettingsError::new(field.name, "required"));
            }
        }
        Ok(fields)
    }

    fn spec(&self, name: &str) -> Option<&'static FieldSpec> {
        self.spec.iter().find(|f| f.name == name)
    }

    /// The trimmed value, or the field's default; `None` when both are empty.
    pub fn text(&self, name: &str) -> Option<String> {
        let value = self.values.get(name).map(|v| v.trim()).unwrap_or_default();
        let value = if value.is_empty() { self.spec(name).map_or("", |f| f.default) } else { value };
        (!value.is_empty()).then(|| value.to_owned())
    }

    pub fn required(&self, name: &str) -> Result<String, SettingsError> {
        self.text(name).ok_or_else(|| SettingsError::new(name, "required"))
    }

    pub fn integer_opt(&self, name: &str) -> Result<Option<u64>, SettingsError> {
        self.text(name)
            .map(|v| v.parse::<u64>().map_err(|_| SettingsError::new(name, format!("{v:?} is not a whole number"))))
            .transpose()
    }

    pub fn integer(&self, name: &str) -> Result<u64, SettingsError> {
        self.integer_opt(name)?.ok_or_else(|| SettingsError::new(name, "required"))
    }

    pub fn url_opt(&self, name: &str) -> Result<Option<reqwest::Url>, SettingsError> {
        self.text(name)
            .map(|v| {
                let url = reqwest::Url::parse(&v).map_err(|e| SettingsError::new(name, format!("{v:?} is not a web address ({e})")))?;
                if matches!(url.scheme(), "http" | "https") {
                    Ok(url)
                } else {
                    Err(SettingsError::new(name, format!("{v:?} must start with https://")))
                }
            })
            .transpose()
    }

    pub fn url(&self, name: &str) -> Result<reqwest::Url, SettingsError> {
        self.url_opt(name)?.ok_or_else(|| SettingsError::new(name, "required"))
    }

    pub fn flag(&self, name: &str) -> Result<bool, SettingsError> {
        match self.text(name).as_deref() {
            None | Some("false") | Some("0") | Some("off") => Ok(false),
            Some("true") | Some("1") | Some("on") => Ok(true),
            Some(other) => Err(SettingsError::new(name, format!("{other:?} is neither true nor false"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::SourceKind;

    fn values(pairs: &[(&str, &str)]) -> FieldValues {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let v = values(&[("token", "x")]);
        let e = Fields::check(&v, SourceKind::Shotgun.fields()).err();
        assert_eq!(e, Some(SettingsError::new("organizer_id", "required")));
    }

    #[test]
    fn a_bad_integer_and_a_bad_address_are_named_with_their_cause() {
        let v = values(&[("organizer_id", "12a"), ("token", "x")]);
        let e = Fields::check(&v, SourceKind::Shotgun.fields()).err().map(|e| e.field);
        assert_eq!(e.as_deref(), Some("organizer_id"));
        let v = values(&[("organizer_id", "12"), ("token", "x"), ("api_url", "ftp://x")]);
        let e = Fields::check(&v, SourceKind::Shotgun.fields()).err();
        assert_eq!(e.map(|e| e.field).as_deref(), Some("api_url"));
    }

    #[test]
    fn defaults_fill_empty_fields() {
        let v = values(&[("organizer_id", "12"), ("token", "x"), ("api_url", "  ")]);
        let fields = Fields::check(&v, SourceKind::Shotgun.fields()).ok();
        let url = fields.and_then(|f| f.url("api_url").ok()).map(|u| u.to_string());
        assert_eq!(url.as_deref(), Some("https://api.shotgun.live/"));
    }
}
