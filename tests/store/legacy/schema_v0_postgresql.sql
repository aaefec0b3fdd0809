CREATE TABLE audit_events (
	seq SERIAL NOT NULL, 
	at VARCHAR NOT NULL, 
	actor VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	data VARCHAR NOT NULL, 
	prev_hash VARCHAR NOT NULL, 
	hash VARCHAR NOT NULL, 
	PRIMARY KEY (seq)
);

CREATE INDEX ix_audit_events_action ON audit_events (action);

CREATE INDEX ix_audit_events_subject ON audit_events (subject);

CREATE TABLE audit_head (
	id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	last_hash VARCHAR NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE budgets (
	id SERIAL NOT NULL, 
	scope_kind VARCHAR(32) NOT NULL, 
	scope_value VARCHAR(200) NOT NULL, 
	period VARCHAR(16) NOT NULL, 
	amount VARCHAR(64) NOT NULL, 
	soft_amount VARCHAR(64), 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_budget_scope_period UNIQUE (scope_kind, scope_value, period)
);

CREATE TABLE processed_events (
	key VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	result VARCHAR NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (key)
);

CREATE TABLE proposals (
	id VARCHAR NOT NULL, 
	playbook VARCHAR NOT NULL, 
	target_slug VARCHAR NOT NULL, 
	branch VARCHAR NOT NULL, 
	environment VARCHAR NOT NULL, 
	state VARCHAR NOT NULL, 
	patch_sha256 VARCHAR NOT NULL, 
	change_json VARCHAR NOT NULL, 
	report_json VARCHAR NOT NULL, 
	blocked_rules VARCHAR NOT NULL, 
	requested_by VARCHAR NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITH TIME ZONE, 
	approved_by VARCHAR, 
	approved_at TIMESTAMP WITH TIME ZONE, 
	approved_sha256 VARCHAR, 
	decided_by VARCHAR, 
	reason VARCHAR, 
	superseded_by VARCHAR, 
	pr_url VARCHAR, 
	pr_number INTEGER, 
	claim_token VARCHAR, 
	claimed_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_proposals_branch ON proposals (branch);

CREATE INDEX ix_proposals_playbook ON proposals (playbook);

CREATE INDEX ix_proposals_state ON proposals (state);

CREATE TABLE pull_requests (
	id SERIAL NOT NULL, 
	proposal_id VARCHAR NOT NULL, 
	branch VARCHAR NOT NULL, 
	forge VARCHAR NOT NULL, 
	number INTEGER, 
	url VARCHAR NOT NULL, 
	commit_sha VARCHAR NOT NULL, 
	created BOOLEAN NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	body VARCHAR NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_pull_requests_branch ON pull_requests (branch);

CREATE INDEX ix_pull_requests_proposal_id ON pull_requests (proposal_id);
