//! Enums stored as TEXT: one macro gives each a stable string form, `FromStr`, serde, and
//! diesel conversions for both backends, so a row can never hold an unknown state.

/// Declares a `Copy` enum whose variants map to fixed lower-case strings.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::text_enum::UnknownVariant {
                        expected: &[$($text),+],
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        $crate::text_enum::impl_sql_text!($name, diesel::sqlite::Sqlite);
        $crate::text_enum::impl_sql_text!($name, diesel::pg::Pg);
        $crate::text_enum::impl_sql_text!($name, $crate::db::MultiBackend);
    };
}

/// Diesel conversions of a text enum for one backend.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sql_text {
    ($name:ident, $backend:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, $backend> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $backend>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, $backend>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, $backend> for $name {
            fn from_sql(
                bytes: <$backend as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                let s = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    $backend,
                >>::from_sql(bytes)?;
                Ok(s.parse()?)
            }
        }
    };
}
pub use __impl_sql_text as impl_sql_text;

/// A string that is not one of an enum's variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "must be one of: {}", self.expected.join(", "))
    }
}

impl std::error::Error for UnknownVariant {}
