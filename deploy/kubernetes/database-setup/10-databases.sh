#!/usr/bin/env bash
# Runs once, when PostgreSQL's data volume is first created (/docker-entrypoint-initdb.d/):
# the knowledge store, Rasa's conversation store and the feedback store, each with its own role.
#   knowledge         owns the `knowledge` database; the loader writes with it (migrations, loads)
#   knowledge_reader  may only read `knowledge`; the action server answers with it
#   rasa              owns the `rasa` database (Rasa's SQL tracker store)
#   feedback          owns the `feedback` database: answers given and their feedback (both servers)
# Passwords come from the container's environment (docker-compose.yml, from .env). Changing them
# in .env later does not change them here: use ALTER ROLE, or start from a new volume.
set -euo pipefail

psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set knowledge_password="$KNOWLEDGE_DB_PASSWORD" \
  --set reader_password="$KNOWLEDGE_READER_PASSWORD" \
  --set rasa_password="$RASA_DB_PASSWORD" \
  --set feedback_password="$FEEDBACK_DB_PASSWORD" <<'SQL'
CREATE ROLE knowledge LOGIN PASSWORD :'knowledge_password';
CREATE ROLE knowledge_reader LOGIN PASSWORD :'reader_password';
CREATE ROLE rasa LOGIN PASSWORD :'rasa_password';
CREATE ROLE feedback LOGIN PASSWORD :'feedback_password';

CREATE DATABASE knowledge OWNER knowledge;
CREATE DATABASE rasa OWNER rasa;
CREATE DATABASE feedback OWNER feedback;
REVOKE ALL ON DATABASE knowledge, rasa, feedback FROM PUBLIC;
GRANT CONNECT ON DATABASE knowledge TO knowledge_reader;

\connect knowledge
GRANT USAGE ON SCHEMA public TO knowledge_reader;
-- Every table the loader's role creates, now or in a later migration, can be read, never written.
ALTER DEFAULT PRIVILEGES FOR ROLE knowledge IN SCHEMA public GRANT SELECT ON TABLES TO knowledge_reader;
SQL
