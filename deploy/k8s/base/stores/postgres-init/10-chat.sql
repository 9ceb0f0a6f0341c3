-- Runs once, on an empty data directory (the image's /docker-entrypoint-initdb.d), in Kubernetes (ConfigMap
-- postgres-init) and in compose (bind mount). auth's database (`auth`) is POSTGRES_DB; `chat` is for the gateway's chat.
CREATE DATABASE chat OWNER devopstrack;
