//! A source's forms as typed in the back office: which values are secrets, which belong to
//! the kind, and the refresh periods. The browser splits and the server filters with the same
//! rules.

use super::sources::{FieldType, FieldValues, RefreshPeriods, SourceKind};

impl SourceKind {
    fn is_secret(self, name: &str) -> bool {
        self.fields().iter().any(|f| f.name == name && f.field_type == FieldType::Secret)
    }

    /// The form's values as `(settings, secrets)`: secrets travel apart, to be sealed.
    pub fn split_secrets(self, values: FieldValues) -> (FieldValues, FieldValues) {
        values.into_iter().partition(|(name, _)| !self.is_secret(name))
    }

    /// Only the kind's own non-secret fields: what is stored as the source's settings.
    pub fn own_settings(self, values: FieldValues) -> FieldValues {
        values
            .into_iter()
            .filter(|(name, _)| self.fields().iter().any(|f| f.name == name && f.field_type != FieldType::Secret))
            .collect()
    }

    /// Only the kind's attachment fields: what is stored for one performance.
    pub fn own_options(self, values: FieldValues) -> FieldValues {
        values.into_iter().filter(|(name, _)| self.attachment_fields().iter().any(|f| f.name == name)).collect()
    }

    /// The names of the kind's secrets: the ones a source with sealed secrets has set.
    pub fn secret_names(self) -> Vec<String> {
        self.fields().iter().filter(|f| f.field_type == FieldType::Secret).map(|f| f.name.to_owned()).collect()
    }
}

impl RefreshPeriods {
    /// As typed in the form, in minutes and hours; a field left empty or unreadable keeps
    /// its default.
    pub fn from_form(long_minutes: &str, short_minutes: &str, short_window_hours: &str) -> Self {
        let defaults = Self::default();
        let number = |typed: &str, default: u32| typed.trim().parse().unwrap_or(default);
        Self {
            long_minutes: number(long_minutes, defaults.long_minutes),
            short_minutes: number(short_minutes, defaults.short_minutes),
            short_window_hours: number(short_window_hours, defaults.short_window_hours),
        }
    }

    /// No period under a minute: a partner is never asked continuously.
    pub fn at_least_a_minute(self) -> Self {
        Self { long_minutes: self.long_minutes.max(1), short_minutes: self.short_minutes.max(1), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> FieldValues {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A kind with a secret, and a kind with attachment fields (named from its spec, so this
    /// test follows the partners' tables).
    fn secret_field(kind: SourceKind) -> Option<&'static str> {
        kind.fields().iter().find(|f| f.field_type == FieldType::Secret).map(|f| f.name)
    }

    #[test]
    fn secrets_travel_apart_and_only_the_kinds_own_settings_are_kept() {
        let kind = SourceKind::ALL.iter().copied().find(|k| secret_field(*k).is_some()).expect("a kind with a secret");
        let secret = secret_field(kind).expect("secret");
        let setting = kind.fields().iter().find(|f| f.field_type != FieldType::Secret).map(|f| f.name);
        let mut typed = values(&[(secret, "s3cret"), ("not_a_field", "x")]);
        if let Some(setting) = setting {
            typed.insert(setting.to_owned(), "v".to_owned());
        }
        let (settings, secrets) = kind.split_secrets(typed);
        assert_eq!(secrets, values(&[(secret, "s3cret")]));
        assert!(settings.contains_key("not_a_field"), "the split keeps what it does not know; the server drops it");
        let kept = kind.own_settings(settings);
        assert!(!kept.contains_key("not_a_field") && !kept.contains_key(secret));
        assert_eq!(kept.len(), usize::from(setting.is_some()));
        assert!(kind.secret_names().contains(&secret.to_owned()));
        assert!(SourceKind::File.secret_names().is_empty());
    }

    #[test]
    fn options_are_the_kinds_attachment_fields() {
        let kind = SourceKind::ALL.iter().copied().find(|k| !k.attachment_fields().is_empty()).expect("a kind with options");
        let option = kind.attachment_fields()[0].name;
        assert_eq!(kind.own_options(values(&[(option, "42"), ("stray", "1")])), values(&[(option, "42")]));
        assert!(SourceKind::File.own_options(values(&[(option, "42")])).is_empty());
    }

    #[test]
    fn periods_read_as_typed_with_defaults_and_a_floor() {
        assert_eq!(RefreshPeriods::from_form("60", " 2 ", "12"), RefreshPeriods { long_minutes: 60, short_minutes: 2, short_window_hours: 12 });
        assert_eq!(RefreshPeriods::from_form("", "soon", "-1"), RefreshPeriods::default());
        let zero = RefreshPeriods { long_minutes: 0, short_minutes: 0, short_window_hours: 0 };
        assert_eq!(zero.at_least_a_minute(), RefreshPeriods { long_minutes: 1, short_minutes: 1, short_window_hours: 0 });
    }
}
