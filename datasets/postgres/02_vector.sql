-- Optional: a 16-dimensional embedding per product for the pgvector lesson (P3, HNSW).
-- Applied before the load only where the `vector` extension is available (the embedded
-- PostgreSQL has it); without it the column simply does not exist.
CREATE EXTENSION IF NOT EXISTS vector;
ALTER TABLE products ADD COLUMN IF NOT EXISTS embedding vector(16);
