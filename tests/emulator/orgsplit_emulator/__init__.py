"""orgsplit's local AWS emulator: moto's server app wrapped by a thin WSGI layer."""
