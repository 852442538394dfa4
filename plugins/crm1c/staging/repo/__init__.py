"""The pieces :class:`crm1c.staging.store.Staging` is assembled from, one mixin per concern."""
