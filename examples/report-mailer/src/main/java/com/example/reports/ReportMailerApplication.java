package com.example.reports;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** An application with its own database and table that runs one recurring task with StarPets. */
@SpringBootApplication
public class ReportMailerApplication {

    public static void main(String[] args) {
        SpringApplication.run(ReportMailerApplication.class, args);
    }
}
