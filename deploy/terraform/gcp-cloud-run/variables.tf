variable "name" {
  description = "Name of the Cloud Run service (and prefix of the other resources)."
  type        = string
  default     = "bonito-agent"
}

variable "project" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Region of the service."
  type        = string
}

variable "image" {
  description = "The Bonito image, in a registry Cloud Run can pull (e.g. Artifact Registry)."
  type        = string
}

variable "control_plane_url" {
  description = "The control plane the agent pulls its config from and reports usage to."
  type        = string
}

variable "org_token_secret_id" {
  description = "Secret Manager secret (id or name) holding the org's bt- token."
  type        = string
}

variable "network" {
  description = "VPC network the agent reaches (Direct VPC egress)."
  type        = string
}

variable "subnetwork" {
  description = "Subnetwork for Direct VPC egress."
  type        = string
}

variable "replicas" {
  description = "Minimum number of instances kept warm."
  type        = number
  default     = 2
}

variable "max_replicas" {
  description = "Maximum number of instances."
  type        = number
  default     = 10
}

variable "cpu" {
  description = "CPU per instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory per instance."
  type        = string
  default     = "1Gi"
}

variable "credential_source" {
  description = "\"default_chain\" (the service account reaches Vertex AI through its IAM roles) or \"config_secret\" (a bonito.yaml `providers:` section in Secret Manager)."
  type        = string
  default     = "default_chain"
  validation {
    condition     = contains(["default_chain", "config_secret"], var.credential_source)
    error_message = "credential_source must be default_chain or config_secret."
  }
}

variable "providers_config_secret_id" {
  description = "With credential_source = \"config_secret\": Secret Manager secret of the `providers:` YAML."
  type        = string
  default     = null
}

variable "invoker_members" {
  description = "Who Cloud Run lets through. Default: everyone inside the network (ingress is internal-only, and Bonito itself refuses a call without a valid bn- key; Cloud Run's own IAM check would want the Authorization header that carries that key)."
  type        = list(string)
  default     = ["allUsers"]
}
