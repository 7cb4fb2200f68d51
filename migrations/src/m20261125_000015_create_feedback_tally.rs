//! A running count of feedback by service and status, kept by the database
//! itself (triggers on every insert, status change and delete), so a queue's
//! `totalCount` for the usual filters is a sum of a few rows, not a count of
//! thousands, however much feedback there is.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE: &[&str] = &[
    "CREATE TABLE feedback_tally (service_id uuid_text NOT NULL, status varchar NOT NULL, \
     n bigint NOT NULL, PRIMARY KEY (service_id, status))",
    "INSERT INTO feedback_tally (service_id, status, n) \
     SELECT service_id, status, count(*) FROM feedback GROUP BY service_id, status",
    "CREATE TRIGGER feedback_tally_insert AFTER INSERT ON feedback BEGIN \
       INSERT OR IGNORE INTO feedback_tally (service_id, status, n) VALUES (NEW.service_id, NEW.status, 0); \
       UPDATE feedback_tally SET n = n + 1 WHERE service_id = NEW.service_id AND status = NEW.status; \
     END",
    "CREATE TRIGGER feedback_tally_update AFTER UPDATE OF status, service_id ON feedback \
     WHEN OLD.status IS NOT NEW.status OR OLD.service_id IS NOT NEW.service_id BEGIN \
       UPDATE feedback_tally SET n = n - 1 WHERE service_id = OLD.service_id AND status = OLD.status; \
       INSERT OR IGNORE INTO feedback_tally (service_id, status, n) VALUES (NEW.service_id, NEW.status, 0); \
       UPDATE feedback_tally SET n = n + 1 WHERE service_id = NEW.service_id AND status = NEW.status; \
     END",
    "CREATE TRIGGER feedback_tally_delete AFTER DELETE ON feedback BEGIN \
       UPDATE feedback_tally SET n = n - 1 WHERE service_id = OLD.service_id AND status = OLD.status; \
     END",
];

const POSTGRES: &[&str] = &[
    "CREATE TABLE feedback_tally (service_id uuid NOT NULL, status varchar NOT NULL, \
     n bigint NOT NULL, PRIMARY KEY (service_id, status))",
    "INSERT INTO feedback_tally (service_id, status, n) \
     SELECT service_id, status, count(*) FROM feedback GROUP BY service_id, status",
    "CREATE FUNCTION feedback_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP IN ('UPDATE', 'DELETE') THEN \
         UPDATE feedback_tally SET n = n - 1 WHERE service_id = OLD.service_id AND status = OLD.status; \
       END IF; \
       IF TG_OP IN ('INSERT', 'UPDATE') THEN \
         INSERT INTO feedback_tally (service_id, status, n) VALUES (NEW.service_id, NEW.status, 1) \
         ON CONFLICT (service_id, status) DO UPDATE SET n = feedback_tally.n + 1; \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER feedback_tally_insert_delete AFTER INSERT OR DELETE ON feedback \
     FOR EACH ROW EXECUTE FUNCTION feedback_tally_change()",
    "CREATE TRIGGER feedback_tally_update AFTER UPDATE OF status, service_id ON feedback \
     FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.service_id IS DISTINCT FROM NEW.service_id) \
     EXECUTE FUNCTION feedback_tally_change()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        for statement in statements {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER feedback_tally_update ON feedback",
                "DROP TRIGGER feedback_tally_insert_delete ON feedback",
                "DROP FUNCTION feedback_tally_change",
                "DROP TABLE feedback_tally",
            ],
            _ => &[
                "DROP TRIGGER feedback_tally_insert",
                "DROP TRIGGER feedback_tally_update",
                "DROP TRIGGER feedback_tally_delete",
                "DROP TABLE feedback_tally",
            ],
        };
        for statement in statements {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        Ok(())
    }
}
