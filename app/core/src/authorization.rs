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
}
