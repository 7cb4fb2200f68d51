//! The public idea board: the ideas moderators have published, with their
//! support and the partnership's answers ("you said, we did"), and residents'
//! support for them.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::types::{Idea, IdeaConnectionTotal};
use crate::auth::Client;
use crate::error::{AppError, AppResult};
use crate::ids::IdeaId;
use crate::pagination::{self, Limits};
use crate::submissions::graphql::SubmissionLimits;
use crate::submissions::model::SupporterKey;
use crate::submissions::store::{self, BoardCursor, IdeaOrder};

/// The board, for anyone.
#[derive(Default)]
pub struct BoardQuery;

#[Object]
impl BoardQuery {
    /// Published ideas, with their support and any public response. Personal
    /// details in ideas are masked.
    #[graphql(
        cache_control(max_age = 60),
        complexity = "crate::pagination::complexity(first, child_complexity)"
    )]
    async fn idea_board(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        theme: Option<String>,
        order: Option<IdeaOrder>,
    ) -> AppResult<Connection<String, Idea, IdeaConnectionTotal, EmptyFields>> {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?)?;
        let order = order.unwrap_or_default();
        let after = after
            .map(|cursor| decode_cursor(order, &cursor))
            .transpose()?;
        // Cleaned as stored themes were, so a hidden character neither
        // misses a theme nor reaches the database (PostgreSQL refuses NUL).
        let theme = theme
            .map(|theme| crate::text::clean_free_text(&theme).trim().to_owned())
            .filter(|theme| !theme.is_empty());
        let given_after = after.is_some();
        let page = store::idea_board(
            ctx.data::<DatabaseConnection>()?,
            order,
            theme.as_deref(),
            first,
            after,
        )
        .await?;
        Ok(pagination::connection(
            page,
            given_after,
            IdeaConnectionTotal::Board { theme },
            |idea| encode_cursor(order, idea.support_count, idea.id),
            Idea::public,
        ))
    }
}

fn encode_cursor(order: IdeaOrder, support_count: i32, id: Uuid) -> String {
    match order {
        IdeaOrder::Support => {
            pagination::encode_cursor("support", &format!("{support_count}:{id}"))
        }
        IdeaOrder::Recent => pagination::encode_cursor("recent", &id.to_string()),
    }
}

fn decode_cursor(order: IdeaOrder, cursor: &str) -> AppResult<BoardCursor> {
    let invalid = || AppError::bad_input("after", "is not a cursor from this list");
    match order {
        IdeaOrder::Support => {
            let key = pagination::decode_cursor("support", cursor)?;
            let (count, id) = key.split_once(':').ok_or_else(invalid)?;
            Ok(BoardCursor::Support {
                support_count: count.parse().map_err(|_| invalid())?,
                id: Uuid::parse_str(id).map_err(|_| invalid())?,
            })
        }
        IdeaOrder::Recent => {
            let key = pagination::decode_cursor("recent", cursor)?;
            Ok(BoardCursor::Recent {
                id: Uuid::parse_str(&key).map_err(|_| invalid())?,
            })
        }
    }
}

/// Supporting ideas on the board.
#[derive(Default)]
pub struct BoardMutation;

#[Object]
impl BoardMutation {
    /// Adds a supporter to a published idea. Each `supporterKey` (made once
    /// by the device or browser and kept) counts once per idea; supporting
    /// again changes nothing.
    async fn support_idea(
        &self,
        ctx: &Context<'_>,
        idea_id: ID,
        supporter_key: String,
    ) -> AppResult<Idea> {
        ctx.data::<SubmissionLimits>()?
            .submission(ctx.data::<Client>()?)
            .await?;
        let supporter = SupporterKey::parse(&supporter_key)?;
        let Some(idea_id) = IdeaId::parse_or_none(&idea_id) else {
            return Err(AppError::NotFound("the idea"));
        };
        let idea = super::super::actions::support_idea(
            ctx.data::<DatabaseConnection>()?,
            idea_id,
            &supporter,
        )
        .await
        .and_then(|idea| idea.ok_or(AppError::NotFound("the idea")))?;
        // The board shows support counts.
        ctx.data::<crate::content::ContentSignals>()?.changed();
        Ok(Idea::public(idea))
    }
}
