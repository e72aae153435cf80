"""catalog: the ORM story, products read with get/aget and filtered lists."""
