"""Flask application, command line and (later) REST blueprints and web pages."""
