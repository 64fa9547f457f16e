CREATE TABLE `histograms` (
	`metric` text NOT NULL,
	`day` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`le` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	`sum_ms` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`metric`, `day`, `method`, `route`, `le`)
);
--> statement-breakpoint
CREATE TABLE `request_events` (
	`id` text PRIMARY KEY NOT NULL,
	`batch_id` text NOT NULL,
	`request_id` text NOT NULL,
	`ts` integer NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`status` integer NOT NULL,
	`latency_ms` real NOT NULL,
	`upstream_ms` real,
	`overhead_ms` real NOT NULL,
	`organization_id` text,
	`user_id` text,
	`api_key_id` text,
	`dialect` text,
	`model` text,
	`provider` text,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`cache_status` text,
	`error_code` text,
	`ttft_ms` real,
	`stream` integer DEFAULT false NOT NULL,
	`rate_limited` integer DEFAULT false NOT NULL,
	`quota_exceeded` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX `request_events_batch_idx` ON `request_events` (`batch_id`);--> statement-breakpoint
CREATE INDEX `request_events_ts_idx` ON `request_events` (`ts`);--> statement-breakpoint
CREATE TABLE `rollups` (
	`period` text NOT NULL,
	`period_start` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`status` integer NOT NULL,
	`model` text DEFAULT '' NOT NULL,
	`provider` text DEFAULT '' NOT NULL,
	`organization_id` text DEFAULT '' NOT NULL,
	`cache_status` text DEFAULT '' NOT NULL,
	`error_code` text DEFAULT '' NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	`latency_ms_sum` real DEFAULT 0 NOT NULL,
	`overhead_ms_sum` real DEFAULT 0 NOT NULL,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`period`, `period_start`, `method`, `route`, `status`, `model`, `provider`, `organization_id`, `cache_status`, `error_code`)
);
