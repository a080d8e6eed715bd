//! Roles and the rules about changing them.

use crate::text_enum::text_enum;
use async_graphql::Enum;

use crate::error::{AppError, AppResult};

/// A member's role. Declared lowest first, so `>=` means "at least".
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

text_enum!(Role {
    Viewer => "VIEWER",
    Member => "MEMBER",
    Admin => "ADMIN",
    Owner => "OWNER",
});

impl Role {
    /// Roles that can be handed out by invitation or role change: never OWNER,
    /// which only moves through `transferOwnership`.
    pub fn assignable(self) -> AppResult<Role> {
        if self == Role::Owner {
            return Err(AppError::bad_input(
                "OWNER cannot be assigned; use transferOwnership",
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(
            Role::Owner > Role::Admin && Role::Admin > Role::Member && Role::Member > Role::Viewer
        );
        for role in [Role::Viewer, Role::Member, Role::Admin, Role::Owner] {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert!(Role::Owner.assignable().is_err());
        assert!(Role::Admin.assignable().is_ok());
    }
}
