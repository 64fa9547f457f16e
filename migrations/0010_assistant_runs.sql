CREATE TABLE `assistant_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`organization_id` text NOT NULL,
	`chat_id` text,
	`request_id` text NOT NULL,
	`answer_mode` text NOT NULL,
	`model` text NOT NULL,
	`prompt` text NOT NULL,
	`transcript` text,
	`inputs` text DEFAULT '[]' NOT NULL,
	`answer` text,
	`tool_calls` text DEFAULT '[]' NOT NULL,
	`rounds` integer DEFAULT 0 NOT NULL,
	`stopped_by` text,
	`status` text NOT NULL,
	`error_code` text,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`total_tokens` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`completed_at` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`chat_id`) REFERENCES `chats`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `assistant_runs_user_created_idx` ON `assistant_runs` (`user_id`,`created_at`);