//! Who may do what (SPEC §2), as pure functions of the actor and of where the object sits in
//! the institution tree. The server loads both from storage and asks here; nothing is trusted
//! from the browser.

use crate::domain::Rights;
use crate::ids::{InstitutionId, LoginId};

/// The chain from an institution up to root: `[itself, parent, …, root]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestry(Vec<InstitutionId>);

impl Ancestry {
    /// `None` for an empty chain: an institution that does not exist has no ancestry.
    pub fn new(chain: Vec<InstitutionId>) -> Option<Self> {
        (!chain.is_empty()).then_some(Self(chain))
    }

    pub fn institution(&self) -> InstitutionId {
        self.0[0]
    }

    pub fn is_within_branch(&self, branch: InstitutionId) -> bool {
        self.0.contains(&branch)
    }

    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }
}

/// The signed-in person making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub login_id: LoginId,
    /// The branch this login is Master of, if any (a Master belongs to exactly one branch).
    pub master_of: Option<InstitutionId>,
    pub memberships: Vec<(InstitutionId, Rights)>,
}

/// A login someone wants to change (password, disabled flag, Master grant).
#[derive(Debug, Clone)]
pub struct TargetLogin {
    pub login_id: LoginId,
    pub master_of: Option<Ancestry>,
    pub memberships: Vec<Ancestry>,
}

impl Actor {
    fn rights_at(&self, institution: InstitutionId) -> Rights {
        self.memberships
            .iter()
            .find(|(id, _)| *id == institution)
            .map(|(_, rights)| *rights)
            .unwrap_or_default()
    }

    pub fn is_master_over(&self, place: &Ancestry) -> bool {
        self.master_of.is_some_and(|branch| place.is_within_branch(branch))
    }

    /// Root's Masters are Billetix staff: the only ones who may grant Master.
    pub fn is_root_master(&self, root: InstitutionId) -> bool {
        self.master_of == Some(root)
    }

    pub fn can_use_backoffice(&self, place: &Ancestry) -> bool {
        self.is_master_over(place) || self.rights_at(place.institution()).backoffice
    }

    /// Manage the institution's users, sources and shows.
    pub fn can_administer(&self, place: &Ancestry) -> bool {
        let rights = self.rights_at(place.institution());
        self.is_master_over(place) || (rights.admin && rights.backoffice)
    }

    pub fn can_scan_at(&self, place: &Ancestry) -> bool {
        self.is_master_over(place) || self.rights_at(place.institution()).pda
    }

    pub fn can_create_child_of(&self, parent: &Ancestry) -> bool {
        self.is_master_over(parent)
    }

    pub fn can_rename(&self, place: &Ancestry) -> bool {
        self.is_master_over(place)
    }

    /// Replace a password, disable or enable a login: only someone who administers every
    /// institution the login belongs to, and who is Master above it if it is a Master, so no
    /// one can take over a login with more reach than their own.
    pub fn can_manage_login(&self, target: &TargetLogin) -> bool {
        if target.login_id == self.login_id {
            return false;
        }
        let master_ok = target
            .master_of
            .as_ref()
            .is_none_or(|branch| self.is_master_over(branch));
        let memberships_ok = if target.memberships.is_empty() {
            // A login that belongs nowhere is reachable only from the top of a branch.
            self.master_of.is_some() && target.master_of.is_some()
        } else {
            target.memberships.iter().all(|place| self.can_administer(place))
        };
        master_ok && memberships_ok
    }

    /// Give an existing login rights in `place`: only to someone who administers `place` and
    /// already reaches the whole login (may manage it, or administers every institution it
    /// belongs to), so no one takes a login away from the institutions that own it. A Master
    /// login is never attached outside its own branch.
    pub fn can_add_member(&self, target: &TargetLogin, place: &Ancestry) -> bool {
        let inside_own_branch =
            target.master_of.as_ref().is_none_or(|branch| place.is_within_branch(branch.institution()));
        let within_reach = self.can_manage_login(target)
            || (!target.memberships.is_empty() && target.memberships.iter().all(|m| self.can_administer(m)));
        self.can_administer(place) && inside_own_branch && within_reach
    }

    /// Lift a login's sign-in delays: a Master who may manage it.
    pub fn can_clear_signin_delays(&self, target: &TargetLogin) -> bool {
        self.master_of.is_some() && self.can_manage_login(target)
    }

    /// Grant or withdraw Master: root's Masters, for anyone but themselves.
    pub fn can_grant_master(&self, root: InstitutionId, login: LoginId) -> bool {
        self.is_root_master(root) && login != self.login_id
    }

    /// The institutions this login administers through its memberships (a Master's branch
    /// comes on top, from the tree).
    pub fn administered_memberships(&self) -> impl Iterator<Item = InstitutionId> + '_ {
        self.memberships.iter().filter(|(_, r)| r.admin && r.backoffice).map(|(id, _)| *id)
    }
}

impl TargetLogin {
    /// Whether one of its memberships may be taken away: not its last one (a login that
    /// belonged nowhere would be out of everyone's reach), unless it is a Master.
    pub fn may_lose_a_membership(&self) -> bool {
        self.memberships.len() > 1 || self.master_of.is_some()
    }
}

/// A right held over a place of the tree, as a type: what a server function is given proves
/// which check was made (see the server half's access guards).
pub trait Right {
    fn holds(actor: &Actor, place: &Ancestry) -> bool;
}

/// Back-office access: the shows, the grid, the reports.
pub enum UseBackoffice {}
/// Administration: users, sources, the scan deadline.
pub enum Administer {}
/// Renaming the institution itself.
pub enum Rename {}
/// Creating sub-institutions.
pub enum CreateChild {}

impl Right for UseBackoffice {
    fn holds(actor: &Actor, place: &Ancestry) -> bool {
        actor.can_use_backoffice(place)
    }
}

impl Right for Administer {
    fn holds(actor: &Actor, place: &Ancestry) -> bool {
        actor.can_administer(place)
    }
}

impl Right for Rename {
    fn holds(actor: &Actor, place: &Ancestry) -> bool {
        actor.can_rename(place)
    }
}

impl Right for CreateChild {
    fn holds(actor: &Actor, place: &Ancestry) -> bool {
        actor.can_create_child_of(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(ids: &[i64]) -> Ancestry {
        Ancestry::new(ids.iter().map(|id| InstitutionId(*id)).collect()).expect("non-empty")
    }

    const ROOT: i64 = 1;
    // Tree: 1 root → 2 main A → 4 sub A1; 1 root → 3 main B.
    fn a1() -> Ancestry {
        chain(&[4, 2, ROOT])
    }
    fn b() -> Ancestry {
        chain(&[3, ROOT])
    }

    fn master_of(branch: i64) -> Actor {
        Actor { login_id: LoginId(100), master_of: Some(InstitutionId(branch)), memberships: vec![] }
    }

    fn member(at: i64, rights: Rights) -> Actor {
        Actor { login_id: LoginId(101), master_of: None, memberships: vec![(InstitutionId(at), rights)] }
    }

    #[test]
    fn a_master_reaches_the_whole_branch_and_nothing_else() {
        let m = master_of(2);
        assert!(m.can_administer(&a1()));
        assert!(m.can_create_child_of(&a1()));
        assert!(!m.can_use_backoffice(&b()));
        assert!(!m.can_create_child_of(&chain(&[ROOT])));
        assert!(!m.is_root_master(InstitutionId(ROOT)));
        assert!(master_of(ROOT).is_root_master(InstitutionId(ROOT)));
    }

    #[test]
    fn flags_apply_to_their_institution_only() {
        let pda = member(4, Rights { pda: true, ..Rights::default() });
        assert!(pda.can_scan_at(&a1()));
        assert!(!pda.can_use_backoffice(&a1()));
        assert!(!pda.can_scan_at(&b()));
        let admin_without_backoffice = member(4, Rights { admin: true, ..Rights::default() });
        assert!(!admin_without_backoffice.can_administer(&a1()));
        let admin = member(4, Rights { admin: true, backoffice: true, pda: false });
        assert!(admin.can_administer(&a1()));
        assert!(!admin.can_create_child_of(&a1()), "only Masters create sub-institutions");
        assert!(!admin.can_administer(&chain(&[2, ROOT])), "admin rights do not climb the tree");
    }

    #[test]
    fn managing_a_login_needs_reach_over_all_of_it() {
        let admin = member(4, Rights { admin: true, backoffice: true, pda: false });
        let pda_in_a1 = TargetLogin { login_id: LoginId(7), master_of: None, memberships: vec![a1()] };
        assert!(admin.can_manage_login(&pda_in_a1));
        let also_in_b = TargetLogin { memberships: vec![a1(), b()], ..pda_in_a1.clone() };
        assert!(!admin.can_manage_login(&also_in_b));
        let a_master = TargetLogin { master_of: Some(chain(&[2, ROOT])), ..pda_in_a1.clone() };
        assert!(!admin.can_manage_login(&a_master));
        assert!(master_of(2).can_manage_login(&a_master));
        assert!(!master_of(2).can_manage_login(&TargetLogin { login_id: LoginId(100), ..a_master }));
    }

    #[test]
    fn logins_are_added_only_by_those_who_already_reach_them() {
        let a_admin = member(2, Rights { admin: true, backoffice: true, pda: false });
        let a = chain(&[2, ROOT]);
        let of_a = TargetLogin { login_id: LoginId(7), master_of: None, memberships: vec![a.clone()] };
        assert!(a_admin.can_add_member(&of_a, &a));
        let of_b = TargetLogin { memberships: vec![b()], ..of_a.clone() };
        assert!(!a_admin.can_add_member(&of_b, &a), "a login of B stays with B");
        let of_a_and_b = TargetLogin { memberships: vec![a.clone(), b()], ..of_a.clone() };
        assert!(!a_admin.can_add_member(&of_a_and_b, &a));
        let nowhere = TargetLogin { memberships: vec![], ..of_a.clone() };
        assert!(!a_admin.can_add_member(&nowhere, &a));
        assert!(!a_admin.can_add_member(&of_a, &b()), "only into an institution the caller administers");
        let herself = TargetLogin { login_id: a_admin.login_id, ..of_a.clone() };
        assert!(a_admin.can_add_member(&herself, &a), "her own login is within her reach");
    }

    #[test]
    fn a_master_login_stays_inside_its_branch() {
        let master_of_b = TargetLogin { login_id: LoginId(8), master_of: Some(b()), memberships: vec![b()] };
        let root_master = master_of(ROOT);
        assert!(root_master.can_add_member(&master_of_b, &b()));
        assert!(!root_master.can_add_member(&master_of_b, &a1()), "not even root attaches B's Master to A");
        let master_of_a = TargetLogin { login_id: LoginId(9), master_of: Some(chain(&[2, ROOT])), memberships: vec![] };
        assert!(master_of(2).can_add_member(&master_of_a, &a1()));
        assert!(!master_of(4).can_add_member(&master_of_a, &a1()), "a Master above the caller is out of reach");
    }

    #[test]
    fn each_right_type_asks_its_rule() {
        let office = member(4, Rights { backoffice: true, ..Rights::default() });
        let admin = member(4, Rights { admin: true, backoffice: true, pda: false });
        let master = master_of(2);
        let holds = |actor: &Actor| {
            [
                UseBackoffice::holds(actor, &a1()),
                Administer::holds(actor, &a1()),
                Rename::holds(actor, &a1()),
                CreateChild::holds(actor, &a1()),
            ]
        };
        assert_eq!(holds(&office), [true, false, false, false]);
        assert_eq!(holds(&admin), [true, true, false, false]);
        assert_eq!(holds(&master), [true, true, true, true]);
        assert_eq!(holds(&master_of(3)), [false; 4], "B's Master holds nothing in A");
    }

    #[test]
    fn clearing_delays_and_granting_master() {
        let in_a1 = TargetLogin { login_id: LoginId(7), master_of: None, memberships: vec![a1()] };
        let admin = member(4, Rights { admin: true, backoffice: true, pda: false });
        assert!(admin.can_manage_login(&in_a1) && !admin.can_clear_signin_delays(&in_a1), "a Master's hand only");
        assert!(master_of(2).can_clear_signin_delays(&in_a1));
        assert!(!master_of(3).can_clear_signin_delays(&in_a1));
        let root = InstitutionId(ROOT);
        assert!(master_of(ROOT).can_grant_master(root, LoginId(7)));
        assert!(!master_of(ROOT).can_grant_master(root, LoginId(100)), "not to oneself");
        assert!(!master_of(2).can_grant_master(root, LoginId(7)));
    }

    #[test]
    fn administered_memberships_need_both_flags() {
        let actor = Actor {
            login_id: LoginId(101),
            master_of: None,
            memberships: vec![
                (InstitutionId(2), Rights { admin: true, backoffice: true, pda: false }),
                (InstitutionId(3), Rights { admin: true, ..Rights::default() }),
                (InstitutionId(4), Rights { backoffice: true, pda: true, ..Rights::default() }),
            ],
        };
        assert_eq!(actor.administered_memberships().collect::<Vec<_>>(), vec![InstitutionId(2)]);
    }

    #[test]
    fn a_login_keeps_its_last_membership_unless_it_is_a_master() {
        let once = TargetLogin { login_id: LoginId(7), master_of: None, memberships: vec![a1()] };
        assert!(!once.may_lose_a_membership());
        assert!(TargetLogin { memberships: vec![a1(), b()], ..once.clone() }.may_lose_a_membership());
        assert!(TargetLogin { master_of: Some(b()), ..once }.may_lose_a_membership());
    }
}
