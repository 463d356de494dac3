"""The national level: the ranking of provinces from the provinces' own marts, the national marts and reports."""
