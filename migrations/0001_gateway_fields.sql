ALTER TABLE `requests` ADD `ttft_ms` integer;--> statement-breakpoint
ALTER TABLE `requests` ADD `cost_usd` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `requests` ADD `stream` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `requests` ADD `attempts` integer DEFAULT 1 NOT NULL;