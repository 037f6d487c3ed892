provider "azurerm" {
  features {}
}

module "bonito_agent" {
  source = "../.."

  resource_group_name           = "rg-ai-gateway"
  location                      = "westeurope"
  image                         = "ghcr.io/bonito-ai/bonito:0.1.0"
  control_plane_url             = "https://bonito.example.com"
  key_vault_id                  = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ai-gateway/providers/Microsoft.KeyVault/vaults/kv-ai-gateway"
  org_token_key_vault_secret_id = "https://kv-ai-gateway.vault.azure.net/secrets/bonito-org-token"
  infrastructure_subnet_id      = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-main/subnets/snet-bonito"
  replicas                      = 2
}

output "agent_url" {
  value = module.bonito_agent.internal_url
}
