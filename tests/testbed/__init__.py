"""A local AWS that behaves like AWS: moto's server plus what moto leaves out.

moto answers the right APIs but is kinder than AWS: everything is ready at once, client tokens
are ignored, nothing is ever in use, nothing fails. This package wraps moto, in the same
process, with switchable behaviours (all on in the "realistic" profile):

- provisioning time on one scaled clock (`clock`), patched into moto's models (`patches`);
- an ECS service's tasks, which moto does not start: ListTasks and DescribeTasks show them
  PENDING, then RUNNING once the rollout is steady; a scale-in or DeleteService stops them
  through DEACTIVATING (the target group's deregistration delay), STOPPING (containers exit,
  their last logs shipped), DEPROVISIONING (the interface goes) to STOPPED, and a deleted
  service is DRAINING until they are all STOPPING (`patches`);
- AWS's ordering rules: FAILED VPC links, ResourceInUse, DependencyViolation while network
  interfaces linger (a stopped task's until it is STOPPED), CreateService without a listener
  (`patches`);
- what moto drops: client tokens, same-name load balancers and target groups, an
  integration's connectionId, a service's deploymentConfiguration (`patches`);
- rate limits and seeded faults in each protocol's own error shape, and a call log
  (`middleware`).

`server.main` starts it; `settings` describes the switches.
"""
