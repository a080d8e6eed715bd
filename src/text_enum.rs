//! `text_enum!`: enumerations stored in the database as their GraphQL names.
//!
//! Generates `ALL` (every variant, in order), `as_str` (the stored text) and
//! `parse` (the text back; anything else in the database is INTERNAL, since
//! only this code writes those columns).

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            pub fn parse(s: &str) -> $crate::error::AppResult<$ty> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err($crate::error::AppError::Internal(format!(
                        concat!("unknown ", stringify!($ty), " in the database: {}"),
                        other
                    ))),
                }
            }
        }
    };
}

pub(crate) use text_enum;
