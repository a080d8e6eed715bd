//! Roles and the rules about changing them.

use crate::error::{AppError, AppResult};
pub use entity::enums::Role;

/// Roles that can be handed out by invitation or role change: never OWNER,
/// which only moves through `transferOwnership`.
pub fn assignable(role: Role) -> AppResult<Role> {
    if role == Role::Owner {
        return Err(AppError::bad_input(
            "OWNER cannot be assigned; use transferOwnership",
        ));
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(
            Role::Owner > Role::Admin && Role::Admin > Role::Member && Role::Member > Role::Viewer
        );
        assert!(assignable(Role::Owner).is_err());
        assert!(assignable(Role::Admin).is_ok());
    }
}
