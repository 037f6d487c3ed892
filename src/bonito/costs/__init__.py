"""Cost intelligence over recorded usage: month-end forecasts and recommendations to spend less."""
