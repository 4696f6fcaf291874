package ctl

// envHelp is what every command that reaches the store says of its
// configuration.
const envHelp = `The store is VPNGW_STORE_URL; VPNGW_CA_FILE and VPNGW_ALLOW_INSECURE_TRANSPORT
apply as in the functions: without verified TLS the store is refused.
`

// exitHelp is the exit statuses, as every command's help gives them.
const exitHelp = `exit status: 0 done; 1 failed (the store, the API or the broker failed, no
such request, a case mismatched); 2 usage; 3 refused (the request's state does
not allow it).
`

const rootUsage = `usage: vpngwctl <command> [flags] [arguments]

vpngw's operator tool. It reads the same VPNGW_* variables as the functions
and talks to the same store, broker and API.

commands:
  requests    list, show, redrive and cancel requests: vpngwctl requests --help
  outbox      each sink's pending and parked events; replay the parked ones
  policy      lint a policy file; test it against a cases file
  orphans     gateways vpngw created that exist although their request failed
  tail        print outcome events as the configured sink receives them
  send        sign a request as a webhook route verifies it, and post it
  migrate     apply the store's pending schema migrations (a deploy step)
  schema      print the store's schema version and the one this build needs
  completion  print a shell completion script: bash or zsh
  history     the same as requests show (its first name)

Every command takes --help, with examples. docs/VPNGWCTL.md is the manual.

examples:
  vpngwctl requests list --state received --since 24h
  vpngwctl policy test deploy/policy.sample.yaml deploy/policy.sample.cases.jsonl

` + exitHelp

const requestsUsage = `usage: vpngwctl requests <list|show|redrive|cancel> [flags] [arguments]

  list      requests, newest first, filtered by state, source and age
  show      one request's record and history
  redrive   send a request left received to CreateVpnGateway again
  cancel    fail a request left received for which nothing was created

A request is named by its event's source and id, or by its gateway's id.

examples:
  vpngwctl requests list --state received
  vpngwctl requests show acs:eventbridge:tickets TICKET-4711
  vpngwctl requests show vpn-bp1example

` + exitHelp

const outboxUsage = `usage: vpngwctl outbox <status|replay> [flags]

  status    per sink of VPNGW_QUEUE_URL (and the chat replies): events pending,
            events parked, and the age of the oldest of each
  replay    offer a sink's parked events again, in their order

examples:
  vpngwctl outbox status
  vpngwctl outbox replay first

` + exitHelp

const policyUsage = `usage: vpngwctl policy <lint|test> FILE [CASES.jsonl]

  lint   load a policy file as the functions do, and list its problems
  test   decide every case of a cases file under the policy and compare each
         decision with what the case expects

examples:
  vpngwctl policy lint deploy/policy.sample.yaml
  vpngwctl policy test deploy/policy.sample.yaml deploy/policy.sample.cases.jsonl

` + exitHelp

// commands is vpngwctl's command tree.
func commands() *command {
	return &command{name: "vpngwctl", usage: rootUsage, sub: []*command{
		{name: "requests", usage: requestsUsage, sub: []*command{
			{name: "list", summary: "list requests", usage: listUsage, run: runList},
			{name: "show", summary: "show a request and its history", usage: showUsage, run: runShow},
			{name: "redrive", summary: "re-drive a request left received", usage: redriveUsage, run: runRedrive},
			{name: "cancel", summary: "cancel a request left received", usage: cancelUsage, run: runCancel},
		}},
		{name: "outbox", usage: outboxUsage, sub: []*command{
			{name: "status", summary: "each sink's pending and parked events", usage: statusUsage, run: runOutboxStatus},
			{name: "replay", summary: "offer a sink's parked events again", usage: replayUsage, run: runOutboxReplay},
		}},
		{name: "policy", usage: policyUsage, sub: []*command{
			{name: "lint", summary: "check a policy file", usage: lintUsage, run: runPolicyLint},
			{name: "test", summary: "test a policy against cases", usage: testUsage, run: runPolicyTest},
		}},
		{name: "orphans", summary: "list gateways that outlived their failed request", usage: orphansUsage, run: runOrphans},
		{name: "tail", summary: "print outcomes as they come", usage: tailUsage, run: runTail},
		{name: "send", summary: "sign and post a request", usage: "", run: runSend},
		{name: "migrate", summary: "apply the store's migrations", usage: migrateUsage, run: runMigrate},
		{name: "schema", summary: "print the store's schema version", usage: schemaUsage, run: runSchema},
		{name: "completion", summary: "print a shell completion script", usage: completionUsage, run: runCompletion},
	}}
}

const completionUsage = `usage: vpngwctl completion bash|zsh

Prints a completion script for the shell.

examples:
  source <(vpngwctl completion bash)
  vpngwctl completion zsh > "${fpath[1]}/_vpngwctl"

exit status: 0 printed; 2 usage.
`
