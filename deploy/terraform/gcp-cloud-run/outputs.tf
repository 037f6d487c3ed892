output "internal_url" {
  description = "The agent's OpenAI-compatible base URL (internal ingress; append /v1)."
  value       = google_cloud_run_v2_service.agent.uri
}

output "service_account_email" {
  description = "The agent's identity: it holds roles/aiplatform.user."
  value       = google_service_account.agent.email
}
