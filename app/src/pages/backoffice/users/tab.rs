//! The page: the institution's logins with their rights, and the cards that add to them.

use leptos::prelude::*;

use billetix_core::domain::InstitutionId;

use super::api::*;
use super::forms::{AddMemberForm, CreateLoginForm};
use super::member::MemberLine;
use crate::components::answers::show_answers;
use crate::components::error_text::ErrorLine;
use crate::error::AppError;
use crate::i18n::*;
use crate::pages::signin::ClearSigninDelays;

/// The tab's writes: after each answer the logins are read again, and the error line shows
/// what it said.
#[derive(Clone, Copy)]
pub(super) struct UserActions {
    pub create_login: ServerAction<CreateLogin>,
    pub add_member: ServerAction<AddMember>,
    pub set_rights: ServerAction<SetRights>,
    pub set_disabled: ServerAction<SetLoginDisabled>,
    pub reset_password: ServerAction<ResetPassword>,
    pub remove_member: ServerAction<RemoveMember>,
    pub clear_delays: ServerAction<ClearSigninDelays>,
}

impl UserActions {
    fn new(error: WriteSignal<Option<AppError>>) -> Self {
        let actions = Self {
            create_login: ServerAction::new(),
            add_member: ServerAction::new(),
            set_rights: ServerAction::new(),
            set_disabled: ServerAction::new(),
            reset_password: ServerAction::new(),
            remove_member: ServerAction::new(),
            clear_delays: ServerAction::new(),
        };
        show_answers(actions.create_login, error);
        show_answers(actions.add_member, error);
        show_answers(actions.set_rights, error);
        show_answers(actions.set_disabled, error);
        show_answers(actions.reset_password, error);
        show_answers(actions.remove_member, error);
        show_answers(actions.clear_delays, error);
        actions
    }

    /// Moves on with every answer: what the tab's resources key on.
    fn version(&self) -> usize {
        self.create_login.version().get()
            + self.add_member.version().get()
            + self.set_rights.version().get()
            + self.set_disabled.version().get()
            + self.reset_password.version().get()
            + self.remove_member.version().get()
            + self.clear_delays.version().get()
    }
}

#[component]
pub fn UsersTab(institution: InstitutionId) -> impl IntoView {
    let i18n = use_i18n();
    let (error, set_error) = signal(None::<AppError>);
    let actions = UserActions::new(set_error);
    let members = Resource::new(move || actions.version(), move |_| list_members(institution));
    let addable = Resource::new(move || actions.version(), move |_| addable_logins(institution));
    view! {
        <section class="users" data-testid="users-tab">
            <ErrorLine error />
            <table>
                <thead><tr>
                    <th>{t!(i18n, field_login)}</th><th>{t!(i18n, right_admin)}</th>
                    <th>{t!(i18n, right_pda)}</th><th>{t!(i18n, right_backoffice)}</th><th></th>
                </tr></thead>
                <tbody>
                    <Transition>
                        {move || members.get().map(|result| match result {
                            Ok(list) => list.into_iter().map(|member| view! { <MemberLine institution member actions /> }).collect_view().into_any(),
                            Err(e) => { set_error.set(Some(e)); ().into_any() }
                        })}
                    </Transition>
                </tbody>
            </table>
            <CreateLoginForm institution action=actions.create_login />
            <AddMemberForm institution addable action=actions.add_member />
        </section>
    }
}
