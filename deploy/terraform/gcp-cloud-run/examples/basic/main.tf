provider "google" {
  project = "my-project"
  region  = "us-central1"
}

resource "google_secret_manager_secret" "org_token" {
  secret_id = "bonito-org-token"
  replication {
    auto {}
  }
}
# then: printf 'bt-...' | gcloud secrets versions add bonito-org-token --data-file=-

module "bonito_agent" {
  source = "../.."

  project             = "my-project"
  region              = "us-central1"
  image               = "us-central1-docker.pkg.dev/my-project/bonito/bonito:0.1.0"
  control_plane_url   = "https://bonito.example.com"
  org_token_secret_id = google_secret_manager_secret.org_token.secret_id
  network             = "default"
  subnetwork          = "default"
  replicas            = 2
}

output "agent_url" {
  value = module.bonito_agent.internal_url
}
