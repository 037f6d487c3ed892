"""The dashboard: a dependency-free single-page app (`static/`) over the control-plane API, served by
`create_web_app()` at `/` next to the gateway (`/v1`) and the API (`/api`)."""
