output "internal_url" {
  description = "The agent's OpenAI-compatible base URL inside the VNet (append /v1)."
  value       = "https://${azurerm_container_app.agent.ingress[0].fqdn}"
}

output "identity_principal_id" {
  description = "The agent's managed identity: grant it access to your Azure OpenAI resources."
  value       = azurerm_user_assigned_identity.agent.principal_id
}
