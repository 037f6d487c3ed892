variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "bonito-agent"
}

variable "image" {
  description = "The Bonito image (the same one runs `bonito serve` and `bonito agent`)."
  type        = string
}

variable "control_plane_url" {
  description = "The control plane the agent pulls its config from and reports usage to."
  type        = string
}

variable "org_token_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the org's bt- token (a plain string)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the agent runs in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the tasks and the internal load balancer (two or more AZs)."
  type        = list(string)
}

variable "allowed_cidr_blocks" {
  description = "Who may call the agent (your applications' networks)."
  type        = list(string)
}

variable "replicas" {
  description = "Number of agent tasks."
  type        = number
  default     = 2
}

variable "cpu" {
  description = "Task CPU units (1024 = one vCPU)."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Task memory in MiB."
  type        = number
  default     = 1024
}

variable "credential_source" {
  description = "Where provider credentials come from: \"default_chain\" (the task role: Bedrock through IAM) or \"config_secret\" (a bonito.yaml `providers:` section kept in Secrets Manager)."
  type        = string
  default     = "default_chain"
  validation {
    condition     = contains(["default_chain", "config_secret"], var.credential_source)
    error_message = "credential_source must be default_chain or config_secret."
  }
}

variable "providers_config_secret_arn" {
  description = "With credential_source = \"config_secret\": ARN of a secret holding the `providers:` YAML."
  type        = string
  default     = null
}

variable "task_role_policy_arns" {
  description = "Policies for the task role, e.g. one allowing bedrock:InvokeModel*."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "CloudWatch log retention."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
