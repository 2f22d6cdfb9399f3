"""Result files, videos and exports."""
