-- The reason a supportive-care request is held, in Chinese beside the English one, so each
-- reader sees it in their language.
ALTER TABLE supportive_requests ADD COLUMN reason_zh TEXT;
