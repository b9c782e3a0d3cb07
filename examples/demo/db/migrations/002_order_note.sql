ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT '';
UPDATE orders SET note = 'leave at the door' WHERE customer = 'ada';
