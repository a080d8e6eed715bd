//! The activity actions (`entity::action`): the one list of what the log
//! records, which webhook endpoints may subscribe to (an unknown name is
//! refused) and which the stored `action` column holds as text.

pub use entity::action::ActivityAction;
use sea_orm::ActiveEnum;

/// The action a dotted name (`member.joined`) stands for, if any.
pub fn named(name: &str) -> Option<ActivityAction> {
    ActivityAction::try_from_value(&name.to_owned()).ok()
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    #[test]
    fn every_action_has_its_own_name_and_reads_back() {
        let mut names: Vec<String> = ActivityAction::iter().map(|a| a.to_value()).collect();
        for action in ActivityAction::iter() {
            assert_eq!(named(&action.to_value()), Some(action));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            ActivityAction::iter().count(),
            "names are unique"
        );
        assert_eq!(named("member.joind"), None);
    }
}
