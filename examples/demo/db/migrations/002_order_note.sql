-- Expand only: a new column with a default, so that 1.0.0 (which does not know it) reads and writes
-- this schema too and a rollback needs no database change. Removing or renaming a column is a later
-- (contract) migration, once no version that may run again uses it.
ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT '';
UPDATE orders SET note = 'leave at the door' WHERE customer = 'ada';
