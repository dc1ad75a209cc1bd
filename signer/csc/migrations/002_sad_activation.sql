ALTER TABLE csc_sad ADD COLUMN activation BLOB;
