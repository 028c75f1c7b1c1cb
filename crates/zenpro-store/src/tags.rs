//! Tags (`tag`) and their links to resources (`tag_resource`).
//!
//! Tag names are globally unique (a unique constraint; case-insensitive on MySQL/MariaDB).
//! `tag_resource` has no unique constraint, so this module keeps it free of duplicates itself:
//! attaching takes a lock on the tag row (`FOR UPDATE`; SQLite serialises writers) before
//! checking for an existing link. Exclusive tags are attached to at most one resource per scope
//! (the runs of a pipeline, the versions of an artifact, ...): attaching one moves it.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use uuid::Uuid;
use zenpro_types::filter::{Kind, Op};
use zenpro_types::{Error, Page, time::utc_now};

use crate::artifacts::{MAX_VERSION_RETRIES, backoff, is_retryable};
use crate::db::{Tx, is_unique_violation, map_err};
use crate::list::{self, Field, ListParams, ListSpec, Where};
use crate::users::UserRow;
use crate::{NameOrId, Query, Store, db_err, parse_id, parse_opt_id, q};

/// `ColorVariants`, in the reference's order.
pub const COLORS: [&str; 11] =
    ["grey", "purple", "red", "green", "yellow", "orange", "lime", "teal", "turquoise", "magenta", "blue"];

/// `TaggableResourceTypes` and the table of each.
pub const RESOURCE_TYPES: [(&str, &str); 9] = [
    ("artifact", "`artifact`"),
    ("artifact_version", "`artifact_version`"),
    ("model", "`model`"),
    ("model_version", "`model_version`"),
    ("pipeline", "`pipeline`"),
    ("pipeline_run", "`pipeline_run`"),
    ("run_template", "`run_template`"),
    ("pipeline_snapshot", "`pipeline_snapshot`"),
    ("deployment", "`deployment`"),
];

/// Resource types an exclusive tag may be attached to (`update_tag`'s allowed list).
const EXCLUSIVE_TYPES: [&str; 4] = ["pipeline_run", "artifact_version", "run_template", "pipeline_snapshot"];

/// A random colour, as `TagRequest`'s default factory picks one.
pub fn random_color() -> &'static str {
    let mut b = [0u8; 1];
    // Randomness failing is not worth failing a request for: fall back to the first colour.
    let _ = getrandom::fill(&mut b);
    COLORS[b[0] as usize % COLORS.len()]
}

/// Whether `s` is a `TaggableResourceTypes` value.
pub fn is_resource_type(s: &str) -> bool {
    RESOURCE_TYPES.iter().any(|(t, _)| *t == s)
}

fn table_of(resource_type: &str) -> Option<&'static str> {
    RESOURCE_TYPES.iter().find(|(t, _)| *t == resource_type).map(|(_, table)| *table)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub name: String,
    pub user_id: Option<String>,
    pub color: String,
    pub exclusive: bool,
}

impl TagRow {
    pub fn uuid(&self) -> Uuid {
        parse_id(&self.id)
    }
}

pub const TAG_COLS: &str = "`tag`.`id`, `tag`.`created`, `tag`.`updated`, `tag`.`name`, `tag`.`user_id`, \
    `tag`.`color`, `tag`.`exclusive`";

/// `TagFilter`: `resource_type` (tags used on a resource type) is handled by [`Store::list_tags`].
pub static TAG_LIST: ListSpec = ListSpec {
    from: "`tag`",
    id: "`tag`.`id`",
    select: TAG_COLS,
    fields: &[
        Field::col("id", Kind::Uuid, "`tag`.`id`"),
        Field::col("created", Kind::Datetime, "`tag`.`created`"),
        Field::col("updated", Kind::Datetime, "`tag`.`updated`"),
        Field::col("name", Kind::Str, "`tag`.`name`"),
        Field::col("color", Kind::Str, "`tag`.`color`"),
        Field::col("exclusive", Kind::Bool, "`tag`.`exclusive`"),
        Field::related("user", "`tag`.`user_id`", "`user`", &["id", "name", "full_name"]),
        Field::custom("resource_type", Kind::Str),
    ],
};

/// A link row of `tag_resource`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagResourceRow {
    pub id: String,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub tag_id: String,
    pub resource_id: String,
    pub resource_type: String,
}

const LINK_COLS: &str = "`tag_resource`.`id`, `tag_resource`.`created`, `tag_resource`.`updated`, \
    `tag_resource`.`tag_id`, `tag_resource`.`resource_id`, `tag_resource`.`resource_type`";

/// A tag with its owner and, when hydrated, the number of tagged resources.
#[derive(Debug, Clone)]
pub struct TagView {
    pub row: TagRow,
    pub user: Option<UserRow>,
    pub tagged_count: Option<i64>,
}

/// A tag to get or create: a name (or a tag id given as a string), with the colour and
/// exclusivity to use when it is created (`tag_utils.Tag`).
#[derive(Debug, Clone, Default)]
pub struct TagSpec {
    pub name: String,
    pub color: Option<String>,
    /// `Some` when the caller gave a `Tag` object: an existing tag must have the same value.
    pub exclusive: Option<bool>,
}

impl From<&str> for TagSpec {
    fn from(name: &str) -> Self {
        TagSpec { name: name.to_string(), ..TagSpec::default() }
    }
}

/// A new tag (`TagRequest`).
#[derive(Debug, Clone)]
pub struct NewTag {
    pub name: String,
    pub color: Option<String>,
    pub exclusive: bool,
}

/// Changes to a tag (`TagUpdate`); `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct TagUpdate {
    pub name: Option<String>,
    pub color: Option<String>,
    pub exclusive: Option<bool>,
}

/// `TagRequest.validate_name_not_uuid` (422 as a request validation error).
pub fn check_tag_name(name: &str) -> Result<(), Error> {
    if Uuid::parse_str(name).is_ok() {
        return Err(Error::validation(
            "Value error, Tag names cannot be UUIDs or strings that can be converted to UUIDs.",
        ));
    }
    if name.chars().count() > 255 {
        return Err(Error::validation("The tag name must be at most 255 characters long."));
    }
    crate::components::check_name("Tag", name)
}

fn tag_not_found(key: &NameOrId) -> Error {
    match key {
        NameOrId::Id(id) => Error::not_found(format!("Unable to get tag with ID '{id}': No tag with this ID found")),
        NameOrId::Name(n) => Error::not_found(format!(
            "Unable to get tag with name or ID '{n}': '{n}' is not a valid  UUID and no tag with this name exists."
        )),
    }
}

fn tag_exists(name: &str) -> Error {
    Error::exists(format!("Tag with name `{name}` already exists."))
}

/// `?, ?, ...` for `n` values.
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Append `ids` as parameters.
pub(crate) fn push_ids(q: &mut Query, ids: &[Uuid]) {
    for id in ids {
        q.push_param(*id);
    }
}

impl Store {
    /// A page of tags. Queries: count, page, owners and (hydrated) tagged counts: at most four.
    pub async fn list_tags(&self, params: &ListParams) -> Result<Page<TagView>, Error> {
        let mut params = params.clone();
        let mut wh = Where::new();
        for f in params.take("resource_type") {
            let mut c =
                Query::new("EXISTS (SELECT 1 FROM `tag_resource` WHERE `tag_resource`.`tag_id` = `tag`.`id` AND ");
            list::condition(&mut c, self.backend(), "`tag_resource`.`resource_type`", Kind::Str, &f);
            c.push_sql(")");
            wh.and(c);
        }
        let page: Page<TagRow> = list::list(&self.db, &TAG_LIST, &params, &wh).await?;
        let views = self.tag_views(page.items.clone(), params.hydrate).await?;
        let mut it = views.into_iter();
        Ok(page.map(|_| it.next().expect("one view per row")))
    }

    /// Owners and (hydrated) tagged counts of these tags, in at most two queries.
    pub async fn tag_views(&self, rows: Vec<TagRow>, hydrate: bool) -> Result<Vec<TagView>, Error> {
        let user_ids: Vec<Uuid> = rows.iter().filter_map(|t| parse_opt_id(&t.user_id)).collect();
        let users = self.users_by_id(&user_ids).await?;
        let counts = if hydrate && !rows.is_empty() {
            #[derive(sqlx::FromRow)]
            struct Count {
                tag_id: String,
                n: i64,
            }
            let ids: Vec<Uuid> = rows.iter().map(TagRow::uuid).collect();
            let mut query = q!(format!(
                "SELECT `tag_id`, count(*) AS `n` FROM `tag_resource` WHERE `tag_id` IN ({}) GROUP BY `tag_id`",
                marks(ids.len())
            ));
            push_ids(&mut query, &ids);
            let counts: Vec<Count> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            counts.into_iter().map(|c| (parse_id(&c.tag_id), c.n)).collect()
        } else {
            HashMap::new()
        };
        Ok(rows
            .into_iter()
            .map(|row| TagView {
                user: parse_opt_id(&row.user_id).and_then(|u| users.get(&u).cloned()),
                tagged_count: hydrate.then(|| counts.get(&row.uuid()).copied().unwrap_or(0)),
                row,
            })
            .collect())
    }

    pub async fn find_tag(&self, key: &NameOrId) -> Result<Option<TagRow>, Error> {
        let query = match key {
            NameOrId::Id(id) => q!(format!("SELECT {TAG_COLS} FROM `tag` WHERE `tag`.`id` = ?"), *id),
            NameOrId::Name(n) => q!(format!("SELECT {TAG_COLS} FROM `tag` WHERE `tag`.`name` = ?"), n),
        };
        self.db.clone().fetch_optional(query).await.map_err(db_err)
    }

    /// A tag by name or id (404 with the reference's message).
    pub async fn get_tag(&self, key: &NameOrId, hydrate: bool) -> Result<TagView, Error> {
        let row = self.find_tag(key).await?.ok_or_else(|| tag_not_found(key))?;
        Ok(self.tag_views(vec![row], hydrate).await?.pop().expect("one view per row"))
    }

    /// Tags by id (one query).
    pub async fn tags_by_ids(&self, ids: &[Uuid]) -> Result<Vec<TagRow>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = q!(format!("SELECT {TAG_COLS} FROM `tag` WHERE `tag`.`id` IN ({})", marks(ids.len())));
        push_ids(&mut query, ids);
        self.db.clone().fetch_all(query).await.map_err(db_err)
    }

    /// Insert a tag (409 `Tag with name ... already exists.` on a duplicate name).
    async fn insert_tag(&self, t: &NewTag, user_id: Option<Uuid>) -> Result<TagRow, Error> {
        check_tag_name(&t.name)?;
        let id = Uuid::new_v4();
        let now = utc_now();
        let color = t.color.clone().unwrap_or_else(|| random_color().to_string());
        let res = self
            .db
            .clone()
            .execute(q!(
                "INSERT INTO `tag` (`id`, `created`, `updated`, `name`, `user_id`, `color`, `exclusive`) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                id,
                now,
                now,
                t.name.clone(),
                user_id,
                color,
                t.exclusive
            ))
            .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(tag_exists(&t.name)),
            Err(e) => return Err(db_err(e)),
        }
        self.find_tag(&NameOrId::Id(id)).await?.ok_or_else(|| tag_not_found(&NameOrId::Id(id)))
    }

    /// `POST /tags`: 409 on a duplicate name (the client then looks the tag up by name).
    pub async fn create_tag(&self, t: NewTag, user_id: Uuid) -> Result<TagView, Error> {
        let row = self.insert_tag(&t, Some(user_id)).await?;
        Ok(self.tag_views(vec![row], true).await?.pop().expect("one view per row"))
    }

    /// Get or create tags by name, owned by nobody when created. See
    /// [`Store::get_or_create_tag_specs`].
    pub async fn get_or_create_tags(&self, names: &[String]) -> Result<Vec<TagRow>, Error> {
        let specs: Vec<TagSpec> = names.iter().map(|n| TagSpec::from(n.as_str())).collect();
        self.get_or_create_tag_specs(&specs, None).await
    }

    /// Get or create tags as `_attach_tags_to_resources` resolves them: a string that is a UUID
    /// names an existing tag by id (404 otherwise); other names are created with a random
    /// colour (or the given one) and owned by `user_id`, or read back when they exist (also
    /// when a concurrent request created them first). A `Tag` object whose exclusivity differs
    /// from the existing tag's is refused (400). Duplicates in `specs` yield one tag.
    pub async fn get_or_create_tag_specs(
        &self,
        specs: &[TagSpec],
        user_id: Option<Uuid>,
    ) -> Result<Vec<TagRow>, Error> {
        let mut out: Vec<TagRow> = Vec::with_capacity(specs.len());
        for spec in specs {
            let row = if let Ok(id) = Uuid::parse_str(&spec.name) {
                self.find_tag(&NameOrId::Id(id)).await?.ok_or_else(|| tag_not_found(&NameOrId::Id(id)))?
            } else {
                let new = NewTag {
                    name: spec.name.clone(),
                    color: spec.color.clone(),
                    exclusive: spec.exclusive.unwrap_or(false),
                };
                match self.insert_tag(&new, user_id).await {
                    Ok(row) => row,
                    Err(Error::EntityExists(_)) => {
                        let key = NameOrId::Name(spec.name.clone());
                        let row = self.find_tag(&key).await?.ok_or_else(|| tag_not_found(&key))?;
                        if let Some(ex) = spec.exclusive
                            && ex != row.exclusive
                        {
                            return Err(Error::bad_request(format!(
                                "Tag `{}` has been defined as {} tag. Please update it before attaching it to resources.",
                                row.name,
                                if row.exclusive { "an exclusive" } else { "a non-exclusive" }
                            )));
                        }
                        row
                    }
                    Err(e) => return Err(e),
                }
            };
            if !out.iter().any(|t| t.id == row.id) {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Attach tags to one resource: existing links are kept (no duplicate rows), exclusive tags
    /// move from the other resources of the same scope. 400 when an exclusive tag cannot be
    /// attached to this resource type.
    pub async fn attach_tags(&self, resource_type: &str, resource_id: Uuid, tag_ids: &[Uuid]) -> Result<(), Error> {
        let links: Vec<(Uuid, Uuid, String)> =
            tag_ids.iter().map(|t| (*t, resource_id, resource_type.to_string())).collect();
        self.create_tag_resources(&links).await.map(|_| ())
    }

    /// Create links (tag, resource, type), returning one row per distinct link in request
    /// order: the existing row or the new one. One transaction; each tag row is locked first so
    /// concurrent attaches of the same tag cannot both insert. A deadlock or serialization
    /// failure (MySQL gap locks of concurrent attaches) retries the whole transaction.
    pub async fn create_tag_resources(&self, links: &[(Uuid, Uuid, String)]) -> Result<Vec<TagResourceRow>, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_create_tag_resources(links).await {
                Ok(rows) => return Ok(rows),
                Err(Attempt::Retry(e)) if attempt < MAX_VERSION_RETRIES => {
                    tracing::debug!(error = %e, attempt, "retrying tag links after a transient conflict");
                    backoff(attempt).await;
                }
                Err(Attempt::Retry(e)) => return Err(db_err(e)),
                Err(Attempt::Fail(e)) => return Err(e),
            }
        }
    }

    async fn try_create_tag_resources(&self, links: &[(Uuid, Uuid, String)]) -> Result<Vec<TagResourceRow>, Attempt> {
        let mut tag_ids: Vec<Uuid> = links.iter().map(|l| l.0).collect();
        tag_ids.sort_unstable();
        tag_ids.dedup();
        let mut tx = self.db.begin().await?;
        let backend = tx.backend();
        let mut tags: HashMap<Uuid, TagRow> = HashMap::new();
        if !tag_ids.is_empty() {
            let mut query = q!(format!(
                "SELECT {TAG_COLS} FROM `tag` WHERE `tag`.`id` IN ({}) ORDER BY `tag`.`id`{}",
                marks(tag_ids.len()),
                backend.for_update()
            ));
            push_ids(&mut query, &tag_ids);
            let rows: Vec<TagRow> = step(tx.fetch_all(query).await)?;
            tags = rows.into_iter().map(|t| (t.uuid(), t)).collect();
        }
        let mut out: Vec<TagResourceRow> = Vec::new();
        let mut done: Vec<(Uuid, Uuid, String)> = Vec::new();
        for (tag_id, resource_id, resource_type) in links {
            let key = (*tag_id, *resource_id, resource_type.clone());
            if done.contains(&key) {
                continue;
            }
            let tag = tags.get(tag_id).ok_or_else(|| tag_not_found(&NameOrId::Id(*tag_id)))?;
            let existing: Option<TagResourceRow> = step(
                tx.fetch_optional(q!(
                    format!(
                        "SELECT {LINK_COLS} FROM `tag_resource` WHERE `tag_id` = ? AND `resource_id` = ? \
                         AND `resource_type` = ?"
                    ),
                    *tag_id,
                    *resource_id,
                    resource_type.clone()
                ))
                .await,
            )?;
            if let Some(row) = existing {
                out.push(row);
                done.push(key);
                continue;
            }
            if tag.exclusive {
                detach_exclusive_scope(&mut tx, tag, resource_type, *resource_id).await?;
            }
            let id = Uuid::new_v4();
            let now = utc_now();
            step(
                tx.execute(q!(
                    "INSERT INTO `tag_resource` (`id`, `created`, `updated`, `tag_id`, `resource_id`, `resource_type`) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                    id,
                    now,
                    now,
                    *tag_id,
                    *resource_id,
                    resource_type.clone()
                ))
                .await,
            )?;
            out.push(TagResourceRow {
                id: id.simple().to_string(),
                created: now,
                updated: now,
                tag_id: tag_id.simple().to_string(),
                resource_id: resource_id.simple().to_string(),
                resource_type: resource_type.clone(),
            });
            done.push(key);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Detach tags from one resource (links that do not exist are ignored).
    pub async fn detach_tags(&self, resource_type: &str, resource_id: Uuid, tag_ids: &[Uuid]) -> Result<(), Error> {
        let links: Vec<(Uuid, Uuid, String)> =
            tag_ids.iter().map(|t| (*t, resource_id, resource_type.to_string())).collect();
        self.delete_tag_resources(&links).await
    }

    /// Delete links (tag, resource, type); missing links are skipped, as the reference only
    /// logs a warning for them.
    pub async fn delete_tag_resources(&self, links: &[(Uuid, Uuid, String)]) -> Result<(), Error> {
        if links.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (tag_id, resource_id, resource_type) in links {
            tx.execute(q!(
                "DELETE FROM `tag_resource` WHERE `tag_id` = ? AND `resource_id` = ? AND `resource_type` = ?",
                *tag_id,
                *resource_id,
                resource_type.clone()
            ))
            .await
            .map_err(db_err)?;
        }
        tx.commit().await
    }

    /// The tags of resources of one type, each list ordered by tag name (one query).
    pub async fn tags_of(&self, resource_type: &str, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<TagRow>>, Error> {
        #[derive(sqlx::FromRow)]
        struct Tagged {
            resource_id: String,
            #[sqlx(flatten)]
            tag: TagRow,
        }
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut query = q!(
            format!(
                "SELECT `tag_resource`.`resource_id`, {TAG_COLS} FROM `tag_resource` \
                 JOIN `tag` ON `tag`.`id` = `tag_resource`.`tag_id` \
                 WHERE `tag_resource`.`resource_type` = ? AND `tag_resource`.`resource_id` IN ({}) \
                 ORDER BY `tag`.`name`, `tag`.`id`",
                marks(ids.len())
            ),
            resource_type
        );
        push_ids(&mut query, ids);
        let rows: Vec<Tagged> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        let mut out: HashMap<Uuid, Vec<TagRow>> = HashMap::new();
        for r in rows {
            let list = out.entry(parse_id(&r.resource_id)).or_default();
            // The reference's relationship yields a tag once even when a link is duplicated.
            if !list.iter().any(|t| t.id == r.tag.id) {
                list.push(r.tag);
            }
        }
        Ok(out)
    }

    /// Which of these (type, id) resources exist; 404 for the first one that does not, with
    /// the reference's message (`<type> with ID `<id>` not found.`).
    pub async fn check_taggable_resources(&self, resources: &[(String, Uuid)]) -> Result<(), Error> {
        let mut by_type: HashMap<&str, Vec<Uuid>> = HashMap::new();
        for (t, id) in resources {
            by_type.entry(t.as_str()).or_default().push(*id);
        }
        let mut found: Vec<(String, Uuid)> = Vec::new();
        for (t, ids) in &by_type {
            let table = table_of(t).ok_or_else(|| Error::validation(format!("Invalid resource type '{t}'.")))?;
            #[derive(sqlx::FromRow)]
            struct Id {
                id: String,
            }
            let mut query = q!(format!("SELECT `id` FROM {table} WHERE `id` IN ({})", marks(ids.len())));
            push_ids(&mut query, ids);
            let rows: Vec<Id> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
            found.extend(rows.into_iter().map(|r| (t.to_string(), parse_id(&r.id))));
        }
        for (t, id) in resources {
            if !found.iter().any(|(ft, fid)| ft == t && fid == id) {
                return Err(Error::not_found(format!("{t} with ID `{id}` not found.")));
            }
        }
        Ok(())
    }

    /// Remove all tag links of deleted resources (the reference's ORM deletes the association
    /// rows with the resource).
    pub(crate) async fn untag_in(tx: &mut Tx, resource_type: &str, ids: &[Uuid]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut query = q!(
            format!("DELETE FROM `tag_resource` WHERE `resource_type` = ? AND `resource_id` IN ({})", marks(ids.len())),
            resource_type
        );
        push_ids(&mut query, ids);
        tx.execute(query).await.map_err(db_err)?;
        Ok(())
    }

    /// `PUT /tags/{id}`: rename (409 on a taken name), recolour, make (non-)exclusive. Making a
    /// tag exclusive is refused (400) while it is on resource types that cannot carry exclusive
    /// tags or on several resources of one scope.
    pub async fn update_tag(&self, key: &NameOrId, u: TagUpdate) -> Result<TagView, Error> {
        let cur = self.find_tag(key).await?.ok_or_else(|| tag_not_found(key))?;
        if let Some(n) = &u.name {
            if Uuid::parse_str(n).is_ok() {
                return Err(Error::validation(
                    "Value error, Tag names cannot be UUIDs or strings that can be converted to UUIDs.",
                ));
            }
            if *n != cur.name {
                let taken = self
                    .db
                    .clone()
                    .fetch_i64(q!("SELECT count(*) FROM `tag` WHERE `name` = ? AND `id` != ?", n, cur.id.clone()))
                    .await
                    .map_err(db_err)?;
                if taken > 0 {
                    return Err(Error::exists(format!(
                        "Unable to update the requested tag with name '{n}': Found another existing tag with the same name."
                    )));
                }
            }
        }
        if u.exclusive == Some(true) {
            self.check_can_be_exclusive(&cur).await?;
        }
        let name = u.name.clone().unwrap_or_else(|| cur.name.clone());
        let conflict = format!(
            "Unable to update the requested tag with name '{name}': Found another existing tag with the same name."
        );
        self.db
            .clone()
            .execute(q!(
                "UPDATE `tag` SET `updated` = ?, `name` = ?, `color` = ?, `exclusive` = ? WHERE `id` = ?",
                utc_now(),
                name,
                u.color.clone().unwrap_or_else(|| cur.color.clone()),
                u.exclusive.unwrap_or(cur.exclusive),
                cur.id.clone()
            ))
            .await
            .map_err(|e| map_err(e, &conflict))?;
        self.get_tag(&NameOrId::Id(cur.uuid()), true).await
    }

    async fn check_can_be_exclusive(&self, tag: &TagRow) -> Result<(), Error> {
        #[derive(sqlx::FromRow)]
        struct TypeRow {
            resource_type: String,
        }
        let mut errors: Vec<String> = Vec::new();
        let mut query = q!(
            format!(
                "SELECT DISTINCT `resource_type` FROM `tag_resource` WHERE `tag_id` = ? AND `resource_type` NOT IN ({})",
                marks(EXCLUSIVE_TYPES.len())
            ),
            tag.id.clone()
        );
        for t in EXCLUSIVE_TYPES {
            query.push_param(t);
        }
        let kinds: Vec<TypeRow> = self.db.clone().fetch_all(query).await.map_err(db_err)?;
        if !kinds.is_empty() {
            let names: Vec<String> = kinds.into_iter().map(|k| k.resource_type).collect();
            errors.push(format!(
                "The tag `{}` cannot be made exclusive because it is associated with non-allowed resource types: {}. \
                 Exclusive tags can only be applied to pipeline runs, artifact versions, and run templates.",
                tag.name,
                names.join(", ")
            ));
        }
        #[derive(sqlx::FromRow)]
        struct Scope {
            scope: Option<String>,
            n: i64,
        }
        // (resource type, scope query over the linked ids, scope column name for the message)
        let checks: [(&str, &str, &str); 4] = [
            (
                "pipeline_run",
                "SELECT `r`.`pipeline_id` AS `scope`, count(*) AS `n` FROM `pipeline_run` AS `r`",
                "pipeline_id",
            ),
            (
                "artifact_version",
                "SELECT `r`.`artifact_id` AS `scope`, count(*) AS `n` FROM `artifact_version` AS `r`",
                "artifact_id",
            ),
            (
                "run_template",
                "SELECT `s`.`pipeline_id` AS `scope`, count(*) AS `n` FROM `run_template` AS `r` \
                 JOIN `pipeline_snapshot` AS `s` ON `s`.`id` = `r`.`source_snapshot_id`",
                "",
            ),
            (
                "pipeline_snapshot",
                "SELECT `r`.`pipeline_id` AS `scope`, count(*) AS `n` FROM `pipeline_snapshot` AS `r`",
                "pipeline_id",
            ),
        ];
        for (kind, select, column) in checks {
            let scopes: Vec<Scope> = self
                .db
                .clone()
                .fetch_all(q!(
                    format!(
                        "{select} JOIN `tag_resource` AS `tr` ON `tr`.`resource_id` = `r`.`id` AND `tr`.`resource_type` = ? \
                         WHERE `tr`.`tag_id` = ? GROUP BY `scope`"
                    ),
                    kind,
                    tag.id.clone()
                ))
                .await
                .map_err(db_err)?;
            let conflicts: Vec<String> = scopes
                .into_iter()
                .filter(|s| s.n > 1)
                .map(|s| format!("UUID('{}')", parse_opt_id(&s.scope).map(|u| u.to_string()).unwrap_or_default()))
                .collect();
            if !conflicts.is_empty() {
                let shared = if column.is_empty() {
                    " that share the same pipeline_id".to_string()
                } else {
                    format!(" that share the same `{column}`s")
                };
                errors.push(format!(
                    "The tag `{}` is associated with multiple entries of `{kind}`s{shared}: [{}]",
                    tag.name,
                    conflicts.join(", ")
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::bad_request(format!(
                "{}\nYou can only convert a tag into an exclusive tag if the conflicts mentioned above are resolved.",
                errors.join("\n")
            )))
        }
    }

    /// Delete a tag and its links.
    pub async fn delete_tag(&self, key: &NameOrId) -> Result<(), Error> {
        let cur = self.find_tag(key).await?.ok_or_else(|| tag_not_found(key))?;
        let mut tx = self.db.begin().await?;
        tx.execute(q!("DELETE FROM `tag_resource` WHERE `tag_id` = ?", cur.id.clone())).await.map_err(db_err)?;
        tx.execute(q!("DELETE FROM `tag` WHERE `id` = ?", cur.id.clone())).await.map_err(db_err)?;
        tx.commit().await
    }
}

/// Before attaching exclusive `tag` to (`resource_type`, `resource_id`), remove it from the
/// other resources of the same scope. 400 for resource types that cannot carry exclusive tags.
async fn detach_exclusive_scope(
    tx: &mut Tx,
    tag: &TagRow,
    resource_type: &str,
    resource_id: Uuid,
) -> Result<(), Attempt> {
    // (scope of the resource, the resources sharing a scope)
    let (scope_sql, members_sql) = match resource_type {
        "pipeline_run" => (
            "SELECT `pipeline_id` AS `scope` FROM `pipeline_run` WHERE `id` = ?",
            "SELECT `id` FROM `pipeline_run` WHERE `pipeline_id` = ?",
        ),
        "artifact_version" => (
            "SELECT `artifact_id` AS `scope` FROM `artifact_version` WHERE `id` = ?",
            "SELECT `id` FROM `artifact_version` WHERE `artifact_id` = ?",
        ),
        "run_template" => (
            "SELECT `s`.`pipeline_id` AS `scope` FROM `run_template` AS `r` \
             JOIN `pipeline_snapshot` AS `s` ON `s`.`id` = `r`.`source_snapshot_id` WHERE `r`.`id` = ?",
            "SELECT `r`.`id` FROM `run_template` AS `r` \
             JOIN `pipeline_snapshot` AS `s` ON `s`.`id` = `r`.`source_snapshot_id` WHERE `s`.`pipeline_id` = ?",
        ),
        "pipeline_snapshot" => (
            "SELECT `pipeline_id` AS `scope` FROM `pipeline_snapshot` WHERE `id` = ?",
            "SELECT `id` FROM `pipeline_snapshot` WHERE `pipeline_id` = ?",
        ),
        "deployment" => (
            "SELECT `s`.`pipeline_id` AS `scope` FROM `deployment` AS `d` \
             JOIN `pipeline_snapshot` AS `s` ON `s`.`id` = `d`.`snapshot_id` WHERE `d`.`id` = ?",
            "SELECT `d`.`id` FROM `deployment` AS `d` \
             JOIN `pipeline_snapshot` AS `s` ON `s`.`id` = `d`.`snapshot_id` WHERE `s`.`pipeline_id` = ?",
        ),
        other => {
            return Err(Attempt::Fail(Error::bad_request(format!(
                "Can not attach exclusive tag to resource of type {other} with ID: `{resource_id}`. Exclusive tag \
                 functionality only works for pipeline runs, pipeline snapshots, pipeline deployments and artifact \
                 versions"
            ))));
        }
    };
    #[derive(sqlx::FromRow)]
    struct Scope {
        scope: Option<String>,
    }
    let scope: Option<Scope> = step(tx.fetch_optional(q!(scope_sql, resource_id)).await)?;
    let Some(scope) = scope.and_then(|s| s.scope) else {
        return Ok(());
    };
    step(
        tx.execute(q!(
            format!(
                "DELETE FROM `tag_resource` WHERE `tag_id` = ? AND `resource_type` = ? AND `resource_id` != ? \
                 AND `resource_id` IN ({members_sql})"
            ),
            tag.id.clone(),
            resource_type,
            resource_id,
            scope
        ))
        .await,
    )?;
    Ok(())
}

/// How one transaction attempt failed: transiently (retry it) or for good.
enum Attempt {
    Retry(sqlx::Error),
    Fail(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Fail(e)
    }
}

/// Classify a statement's result for [`Attempt`].
fn step<T>(r: Result<T, sqlx::Error>) -> Result<T, Attempt> {
    r.map_err(|e| if is_retryable(&e) { Attempt::Retry(e) } else { Attempt::Fail(db_err(e)) })
}

/// The `tags` filter of taggable lists (`TaggableFilter`): `isnull`/`isnotnull` mean untagged /
/// tagged; any other operator matches resources with a tag whose name satisfies it. Returned
/// conditions always apply (ANDed).
pub fn tags_conditions(backend: crate::Backend, params: &mut ListParams, id_col: &str) -> Vec<Query> {
    let mut out = Vec::new();
    for f in params.take("tags") {
        let mut c = Query::default();
        match f.op {
            Op::IsNull => c.push_sql(&format!(
                "NOT EXISTS (SELECT 1 FROM `tag_resource` WHERE `tag_resource`.`resource_id` = {id_col})"
            )),
            Op::IsNotNull => c.push_sql(&format!(
                "EXISTS (SELECT 1 FROM `tag_resource` WHERE `tag_resource`.`resource_id` = {id_col})"
            )),
            _ => {
                c.push_sql(&format!(
                    "EXISTS (SELECT 1 FROM `tag_resource` JOIN `tag` ON `tag`.`id` = `tag_resource`.`tag_id` \
                     WHERE `tag_resource`.`resource_id` = {id_col} AND "
                ));
                list::condition(&mut c, backend, "`tag`.`name`", Kind::Str, &f);
                c.push_sql(")");
            }
        }
        out.push(c);
    }
    out
}
