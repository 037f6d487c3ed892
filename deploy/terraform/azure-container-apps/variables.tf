variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "bonito-agent"
}

variable "resource_group_name" {
  description = "Resource group to create the agent in."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "image" {
  description = "The Bonito image (the same one runs `bonito serve` and `bonito agent`)."
  type        = string
}

variable "control_plane_url" {
  description = "The control plane the agent pulls its config from and reports usage to."
  type        = string
}

variable "org_token_key_vault_secret_id" {
  description = "Versionless Key Vault secret id holding the org's bt- token."
  type        = string
}

variable "key_vault_id" {
  description = "The Key Vault holding the token (the agent's identity is allowed to read its secrets)."
  type        = string
}

variable "infrastructure_subnet_id" {
  description = "Subnet (a /23 or larger, delegated to Microsoft.App/environments) for an internal-only environment."
  type        = string
}

variable "replicas" {
  description = "Minimum (and default) number of agent replicas."
  type        = number
  default     = 2
}

variable "max_replicas" {
  description = "Maximum number of replicas under load."
  type        = number
  default     = 10
}

variable "cpu" {
  description = "vCPU per replica."
  type        = number
  default     = 0.5
}

variable "memory" {
  description = "Memory per replica, e.g. \"1Gi\"."
  type        = string
  default     = "1Gi"
}

variable "credential_source" {
  description = "\"managed_identity\" (the agent's identity reaches Azure OpenAI through Entra ID) or \"config_secret\" (a bonito.yaml `providers:` section in Key Vault)."
  type        = string
  default     = "managed_identity"
  validation {
    condition     = contains(["managed_identity", "config_secret"], var.credential_source)
    error_message = "credential_source must be managed_identity or config_secret."
  }
}

variable "providers_config_key_vault_secret_id" {
  description = "With credential_source = \"config_secret\": Key Vault secret id of the `providers:` YAML."
  type        = string
  default     = null
}

variable "log_analytics_workspace_id" {
  description = "Log Analytics workspace for the environment's logs (optional)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
